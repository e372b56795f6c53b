//! The checker on histories whose verdict is known: each anomaly is caught,
//! and named by the fewest calls that show it; each history a correct service
//! could give passes, with the calls' order.

use licensing_verify::models::{Balance, BalanceOp, BalanceRet, Key, KeyOp, KeyRet, Pool, PoolOp, PoolRet};
use licensing_verify::{check, Call, Verdict};

fn call<Op, Ret>(client: u64, op: Op, ret: Ret, invoked_at: u64, returned_at: u64) -> Call<Op, Ret> {
    Call {
        client,
        op,
        ret: Some(ret),
        invoked_at,
        returned_at: Some(returned_at),
    }
}

fn unknown<Op, Ret>(client: u64, op: Op, invoked_at: u64) -> Call<Op, Ret> {
    Call {
        client,
        op,
        ret: None,
        invoked_at,
        returned_at: None,
    }
}

fn activate() -> KeyOp {
    KeyOp::Activate { fingerprint: None }
}

fn activated(id: &str) -> KeyRet {
    KeyRet::Activated { instance: id.into() }
}

/// The core of an anomaly: the fewest calls that cannot be ordered.
fn anomaly<Op: std::fmt::Debug, Ret: std::fmt::Debug>(verdict: Verdict<Op, Ret>) -> Vec<Call<Op, Ret>> {
    match verdict {
        Verdict::Anomaly { prefix, core, .. } => {
            assert!(core.len() <= prefix.len());
            core
        }
        other => panic!("expected an anomaly, got {other:?}"),
    }
}

#[test]
fn two_devices_on_a_key_of_one_are_caught() {
    let calls = vec![
        call(1, activate(), activated("a"), 0, 10),
        call(2, activate(), activated("b"), 1, 11),
        call(
            3,
            KeyOp::Validate { instance: "x".into() },
            KeyRet::Valid { valid: false, count: 0 },
            2,
            3,
        ),
    ];
    let minimal = anomaly(check(Key::with_limit(Some(1)), &calls));
    // The validate explains nothing: only the two activations are left.
    assert_eq!(minimal.iter().map(|c| c.client).collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn one_device_and_one_refusal_on_a_key_of_one_pass() {
    let calls = vec![
        call(1, activate(), activated("a"), 0, 10),
        call(2, activate(), KeyRet::LimitReached, 1, 11),
        call(3, KeyOp::Count, KeyRet::Count { count: 1 }, 12, 13),
    ];
    match check(Key::with_limit(Some(1)), &calls) {
        Verdict::Linearizable(order) => assert_eq!(order.len(), 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_count_that_reads_stale_after_an_activation_answered_is_caught() {
    // The injected bug of the issue: a read of the count from before a change that had already answered.
    let calls = vec![
        call(1, activate(), activated("a"), 0, 10),
        call(2, KeyOp::Count, KeyRet::Count { count: 0 }, 20, 21),
    ];
    assert_eq!(anomaly(check(Key::with_limit(Some(3)), &calls)).len(), 2);
    // Concurrent with the activation, either count is one the service could give.
    for count in [0, 1] {
        let calls = vec![
            call(1, activate(), activated("a"), 0, 10),
            call(2, KeyOp::Count, KeyRet::Count { count }, 5, 6),
        ];
        assert!(
            matches!(check(Key::with_limit(Some(3)), &calls), Verdict::Linearizable(_)),
            "{count}"
        );
    }
}

#[test]
fn a_freed_device_that_still_validates_is_caught() {
    let calls = vec![
        call(1, activate(), activated("a"), 0, 10),
        call(
            1,
            KeyOp::Deactivate { instance: "a".into() },
            KeyRet::Deactivated,
            20,
            30,
        ),
        call(
            2,
            KeyOp::Validate { instance: "a".into() },
            KeyRet::Valid { valid: true, count: 1 },
            40,
            41,
        ),
    ];
    // The changes are kept, so the core shows why the validate cannot be answered so.
    let core = anomaly(check(Key::with_limit(None), &calls));
    assert_eq!(core, calls);
    match check(Key::with_limit(None), &calls) {
        Verdict::Anomaly { failing, prefix, .. } => {
            assert_eq!(failing, calls[2]);
            assert_eq!(prefix, calls);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_activation_of_unknown_outcome_may_or_may_not_have_happened() {
    for (count, fine) in [(0, true), (1, true), (2, false)] {
        let calls = vec![
            unknown(1, activate(), 0),
            call(2, KeyOp::Count, KeyRet::Count { count }, 50, 51),
        ];
        let verdict = check(Key::with_limit(Some(5)), &calls);
        assert_eq!(
            matches!(verdict, Verdict::Linearizable(_)),
            fine,
            "{count}: {verdict:?}"
        );
    }
    // The client goes on after the unknown outcome, as a new thread.
    let calls = vec![
        unknown(1, activate(), 0),
        call(1, activate(), activated("b"), 5, 9),
        call(2, KeyOp::Count, KeyRet::Count { count: 2 }, 50, 51),
    ];
    assert!(matches!(
        check(Key::with_limit(Some(5)), &calls),
        Verdict::Linearizable(_)
    ));
}

#[test]
fn one_device_gets_one_id_however_often_it_activates() {
    let device = || KeyOp::Activate {
        fingerprint: Some("mac-1".into()),
    };
    let same = vec![
        call(1, device(), activated("a"), 0, 10),
        call(2, device(), activated("a"), 1, 11),
    ];
    assert!(matches!(
        check(Key::with_limit(Some(3)), &same),
        Verdict::Linearizable(_)
    ));
    let twice = vec![
        call(1, device(), activated("a"), 0, 10),
        call(2, device(), activated("b"), 1, 11),
    ];
    assert_eq!(anomaly(check(Key::with_limit(Some(3)), &twice)).len(), 2);
}

#[test]
fn a_limit_below_the_devices_is_refused() {
    let calls = vec![
        call(1, activate(), activated("a"), 0, 1),
        call(1, activate(), activated("b"), 2, 3),
        call(2, KeyOp::SetLimit { limit: Some(1) }, KeyRet::LimitSet, 4, 5),
    ];
    assert_eq!(anomaly(check(Key::with_limit(Some(3)), &calls)).len(), 3);
}

#[test]
fn a_pool_gives_no_more_units_than_it_holds() {
    let assign = |user: &str| PoolOp::Assign { user: user.into() };
    let over = vec![
        call(1, assign("ada"), PoolRet::Assigned, 0, 10),
        call(2, assign("bob"), PoolRet::Assigned, 1, 11),
    ];
    assert_eq!(anomaly(check(Pool::of(1), &over)).len(), 2);
    let fine = vec![
        call(1, assign("ada"), PoolRet::Assigned, 0, 10),
        call(2, assign("bob"), PoolRet::Exceeded, 1, 11),
        call(1, PoolOp::Release { user: "ada".into() }, PoolRet::Released, 20, 21),
        call(2, assign("bob"), PoolRet::Assigned, 30, 31),
        call(3, PoolOp::Used, PoolRet::Used { used: 1 }, 40, 41),
        call(3, PoolOp::Release { user: "cy".into() }, PoolRet::NotHeld, 50, 51),
    ];
    assert!(matches!(check(Pool::of(1), &fine), Verdict::Linearizable(_)));
}

#[test]
fn a_balance_is_never_spent_twice_and_a_refusal_needs_a_short_balance() {
    let debit = |amount| BalanceOp::Debit { amount };
    let start = Balance {
        balance: 10,
        ..Balance::default()
    };
    let twice = vec![
        call(1, debit(6), BalanceRet::Debited { after: None }, 0, 10),
        call(2, debit(6), BalanceRet::Debited { after: None }, 1, 11),
    ];
    assert_eq!(anomaly(check(start.clone(), &twice)).len(), 2);
    // A 400 while the credits were there (nothing else running) is caught too.
    let refused = vec![call(1, debit(3), BalanceRet::Insufficient, 0, 10)];
    assert_eq!(anomaly(check(start.clone(), &refused)).len(), 1);
    let fine = vec![
        call(1, debit(6), BalanceRet::Debited { after: Some(4) }, 0, 10),
        call(2, debit(6), BalanceRet::Insufficient, 1, 11),
        call(
            3,
            BalanceOp::Credit { amount: 5 },
            BalanceRet::Credited { after: Some(9) },
            20,
            21,
        ),
        call(
            3,
            BalanceOp::Read,
            BalanceRet::Balance { balance: 9, overage: 0 },
            30,
            31,
        ),
    ];
    assert!(matches!(check(start.clone(), &fine), Verdict::Linearizable(_)));
    // With overage up to 5: a debit past the balance goes to overage, then the limit refuses.
    let overage = Balance {
        balance: 2,
        overage: 0,
        overage_limit: Some(5),
    };
    let calls = vec![
        call(1, debit(6), BalanceRet::Debited { after: Some(0) }, 0, 1),
        call(1, debit(2), BalanceRet::OverageLimitReached, 2, 3),
        call(1, BalanceOp::Read, BalanceRet::Balance { balance: 0, overage: 4 }, 4, 5),
    ];
    assert!(matches!(check(overage, &calls), Verdict::Linearizable(_)));
}

#[test]
fn a_history_no_client_could_record_is_malformed() {
    let backwards = vec![call(1, KeyOp::Count, KeyRet::Count { count: 0 }, 10, 5)];
    assert!(matches!(check(Key::default(), &backwards), Verdict::Malformed(_)));
    let overlapping = vec![
        call(1, KeyOp::Count, KeyRet::Count { count: 0 }, 0, 10),
        call(1, KeyOp::Count, KeyRet::Count { count: 0 }, 5, 15),
    ];
    assert!(matches!(check(Key::default(), &overlapping), Verdict::Malformed(_)));
}

/// A history recorded from the service: its model's initial state and its
/// calls. Kept here as the checker's core of each (the changes and the
/// answers that cannot be given together); docs/verification/ has the whole
/// histories, which take minutes to minimize.
fn recorded<Op: serde::de::DeserializeOwned, Ret: serde::de::DeserializeOwned>(
    text: &str,
) -> (serde_json::Value, Vec<Call<Op, Ret>>) {
    let mut history: serde_json::Value = serde_json::from_str(text).expect("a history");
    let calls = serde_json::from_value(history["calls"].take()).expect("its calls");
    (history["init"].take(), calls)
}

/// The anomalies histories found in split counters (shards read at several
/// instants, since fixed) stay caught, by the answers that showed them.
#[test]
fn the_torn_shard_reads_found_in_recorded_histories_are_caught() {
    let (init, calls) = recorded::<PoolOp, PoolRet>(include_str!("histories/pool-split-2063856817-core.json"));
    let pool = Pool::of(init["quantity"].as_u64().expect("a quantity") as u32);
    let core = anomaly(check(pool, &calls));
    let answers: Vec<_> = core.iter().filter_map(|c| c.ret.clone()).collect();
    assert!(answers.contains(&PoolRet::Exceeded), "{answers:?}");
    assert!(answers.contains(&PoolRet::Used { used: 6 }), "{answers:?}");

    let (init, calls) = recorded::<KeyOp, KeyRet>(include_str!("histories/key-split-1111906938-core.json"));
    let key = Key::with_limit(init["limit"].as_u64().map(|limit| limit as u32));
    let core = anomaly(check(key, &calls));
    assert!(core.iter().any(|c| c.ret == Some(KeyRet::LimitReached)), "{core:?}");
}
