//! The checker's search against stateright's own tester, on thousands of
//! small random histories of an allocation pool: the two must agree on every
//! one, linearizable or not, with calls of unknown outcome among them.

use licensing_verify::models::{Pool, PoolOp, PoolRet};
use licensing_verify::{check, tester, Call, Verdict};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stateright::semantics::SequentialSpec;

fn random_op(rng: &mut StdRng) -> PoolOp {
    let user = ["ada", "bob", "cy"][rng.gen_range(0..3)].to_string();
    match rng.gen_range(0..4) {
        0 => PoolOp::Assign { user },
        1 => PoolOp::Release { user },
        2 => PoolOp::Used,
        _ => PoolOp::SetQuantity {
            quantity: rng.gen_range(0..3),
        },
    }
}

fn random_ret(rng: &mut StdRng, op: &PoolOp) -> PoolRet {
    match op {
        PoolOp::Assign { .. } => [PoolRet::Assigned, PoolRet::Exceeded][rng.gen_range(0..2)].clone(),
        PoolOp::Release { .. } => [PoolRet::Released, PoolRet::NotHeld][rng.gen_range(0..2)].clone(),
        PoolOp::Used => PoolRet::Used {
            used: rng.gen_range(0..3),
        },
        PoolOp::SetQuantity { .. } => [PoolRet::QuantitySet, PoolRet::BelowConsumed][rng.gen_range(0..2)].clone(),
    }
}

/// Three clients, up to three calls each, at random times; one call in eight of unknown outcome.
fn random_history(rng: &mut StdRng) -> Vec<Call<PoolOp, PoolRet>> {
    let mut calls = Vec::new();
    for client in 1..=3 {
        let mut at = rng.gen_range(0..20);
        for _ in 0..rng.gen_range(1..=3) {
            let op = random_op(rng);
            let invoked_at = at;
            if rng.gen_ratio(1, 8) {
                calls.push(Call {
                    client,
                    op,
                    ret: None,
                    invoked_at,
                    returned_at: None,
                });
            } else {
                let returned_at = invoked_at + rng.gen_range(0..30);
                let ret = random_ret(rng, &op);
                calls.push(Call {
                    client,
                    op,
                    ret: Some(ret),
                    invoked_at,
                    returned_at: Some(returned_at),
                });
                at = returned_at;
            }
            at += rng.gen_range(1..10);
        }
    }
    calls
}

/// Most answers made true of the calls taken in the order they were sent, so
/// that both verdicts are common.
fn mostly_true(rng: &mut StdRng, init: &Pool, calls: &mut [Call<PoolOp, PoolRet>]) {
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|&i| calls[i].invoked_at);
    let mut pool = init.clone();
    for i in order {
        let answer = pool.invoke(&calls[i].op);
        if calls[i].ret.is_some() && rng.gen_ratio(3, 4) {
            calls[i].ret = Some(answer);
        }
    }
}

#[test]
fn the_search_agrees_with_staterights_tester() {
    let mut rng = StdRng::seed_from_u64(33);
    let (mut linearizable, mut not) = (0, 0);
    for _ in 0..5_000 {
        let mut calls = random_history(&mut rng);
        let init = Pool::of(rng.gen_range(0..3));
        mostly_true(&mut rng, &init, &mut calls);
        let events = calls.len() * 2;
        let reference = tester(&init, &calls, &vec![true; calls.len()], events)
            .expect("a well-formed history")
            .serialized_history()
            .is_some();
        match check(init, &calls) {
            Verdict::Linearizable(order) => {
                assert!(
                    reference,
                    "stateright finds no order for {calls:?}, the search found {order:?}"
                );
                linearizable += 1;
            }
            Verdict::Anomaly { core, .. } => {
                assert!(!reference, "stateright orders {calls:?}, the search says no ({core:?})");
                not += 1;
            }
            Verdict::Malformed(problem) => panic!("{problem}: {calls:?}"),
        }
    }
    println!("{linearizable} linearizable, {not} not, the same verdict from both");
    // Both verdicts were exercised, often.
    assert!(
        linearizable > 1_000 && not > 1_000,
        "{linearizable} linearizable, {not} not"
    );
}
