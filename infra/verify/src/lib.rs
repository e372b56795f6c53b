//! Recorded client histories checked for linearizability against sequential
//! models of the service's objects, with `stateright`'s `LinearizabilityTester`.
//!
//! A history is what concurrent clients saw: for each call, when it was sent,
//! what it asked, and when and what it was answered, or that its outcome is
//! unknown (a timeout, a 503, a cut connection: Jepsen's `info`). A call known
//! to have changed nothing (Jepsen's `fail`) is left out before checking.
//! `check` answers the order in which the object could have taken every call,
//! or the fewest calls it could not have answered as they were answered.

pub mod models;

use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// One call as a client saw it. `ret` is `None` when its outcome is unknown:
/// it may have taken effect at any point after `invoked_at`, or never.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Call<Op, Ret> {
    pub client: u64,
    pub op: Op,
    pub ret: Option<Ret>,
    /// The client's own clock, in microseconds.
    pub invoked_at: u64,
    pub returned_at: Option<u64>,
}

/// What a history came to.
#[derive(Debug, PartialEq)]
pub enum Verdict<Op, Ret> {
    /// The calls in an order the object could have taken them, each with its answer.
    Linearizable(Vec<(Op, Ret)>),
    /// No order explains the history. `prefix`: the calls up to the first
    /// answer that cannot be given (the last of them answered it); `core`: as
    /// few of those as still cannot be ordered (drop any one and the rest can).
    Anomaly {
        prefix: Vec<Call<Op, Ret>>,
        core: Vec<Call<Op, Ret>>,
    },
    /// A history no client could have recorded (a call answered before it was
    /// sent, two calls of one client at once).
    Malformed(String),
}

enum Event {
    Invoke(usize),
    Return(usize),
}

/// The calls' invocations and answers in the order the clients' clocks put
/// them; an answer at the same microsecond as an invocation comes after it, so
/// the two count as concurrent (never a false anomaly from a coarse clock).
fn events<Op, Ret>(calls: &[Call<Op, Ret>]) -> Vec<Event> {
    let mut timed: Vec<(u64, u8, usize)> = Vec::with_capacity(calls.len() * 2);
    for (i, call) in calls.iter().enumerate() {
        timed.push((call.invoked_at, 0, i));
        if let (Some(_), Some(at)) = (&call.ret, call.returned_at) {
            timed.push((at, 1, i));
        }
    }
    timed.sort_unstable();
    timed
        .into_iter()
        .map(|(_, kind, i)| if kind == 0 { Event::Invoke(i) } else { Event::Return(i) })
        .collect()
}

/// Feeds `calls` (only those `keep` admits) into a tester, up to the `upto`-th event.
/// A client whose call's outcome is unknown goes on as a new thread: the
/// tester keeps that call in flight for ever, as it may yet have taken effect.
fn tester<S>(
    init: &S,
    calls: &[Call<S::Op, S::Ret>],
    keep: &[bool],
    upto: usize,
) -> Result<LinearizabilityTester<u64, S>, String>
where
    S: SequentialSpec + Clone + Debug,
    S::Op: Clone + Debug,
    S::Ret: Clone + Debug + PartialEq,
{
    let mut threads: BTreeMap<u64, u64> = BTreeMap::new();
    let mut thread_of = vec![0u64; calls.len()];
    let mut next_thread = 0u64;
    let mut tester = LinearizabilityTester::new(init.clone());
    for event in events(calls).into_iter().take(upto) {
        match event {
            Event::Invoke(i) if keep[i] => {
                let call = &calls[i];
                let thread = *threads.entry(call.client).or_insert_with(|| {
                    next_thread += 1;
                    next_thread
                });
                thread_of[i] = thread;
                if call.ret.is_none() {
                    // Its outcome is unknown: the client's next call is another thread's.
                    threads.remove(&call.client);
                }
                tester.on_invoke(thread, call.op.clone())?;
            }
            Event::Return(i) if keep[i] => {
                let ret = calls[i].ret.clone().expect("only answered calls return");
                tester.on_return(thread_of[i], ret)?;
            }
            _ => {}
        }
    }
    Ok(tester)
}

fn consistent<S>(init: &S, calls: &[Call<S::Op, S::Ret>], keep: &[bool], upto: usize) -> Result<bool, String>
where
    S: SequentialSpec + Clone + Debug,
    S::Op: Clone + Debug,
    S::Ret: Clone + Debug + PartialEq,
{
    Ok(tester(init, calls, keep, upto)?.is_consistent())
}

/// Whether the object, starting as `init`, could have answered `calls` as
/// they were answered, each taking effect at one instant between its sending
/// and its answer.
pub fn check<S>(init: S, calls: &[Call<S::Op, S::Ret>]) -> Verdict<S::Op, S::Ret>
where
    S: SequentialSpec + Clone + Debug,
    S::Op: Clone + Debug,
    S::Ret: Clone + Debug + PartialEq,
{
    if let Some(call) = calls
        .iter()
        .find(|c| c.returned_at.is_some_and(|at| at < c.invoked_at) || c.ret.is_some() != c.returned_at.is_some())
    {
        return Verdict::Malformed(format!(
            "a call answered before it was sent, or without a time: {call:?}"
        ));
    }
    let every = vec![true; calls.len()];
    let all = events(calls).len();
    let whole = match tester(&init, calls, &every, all) {
        Ok(tester) => tester,
        Err(problem) => return Verdict::Malformed(problem),
    };
    if let Some(order) = whole.serialized_history() {
        return Verdict::Linearizable(order);
    }
    // Linearizability is closed under prefixes (a call cut off before its
    // answer is one of unknown outcome): the shortest failing prefix ends on
    // the answer that cannot be given.
    let (mut good, mut bad) = (0, all);
    while bad - good > 1 {
        let mid = (good + bad) / 2;
        match consistent(&init, calls, &every, mid) {
            Ok(true) => good = mid,
            Ok(false) => bad = mid,
            Err(problem) => return Verdict::Malformed(problem),
        }
    }
    // Then every call that is not needed for the failure is dropped, one at a time.
    let mut keep = every;
    for i in 0..calls.len() {
        if !keep[i] {
            continue;
        }
        keep[i] = false;
        if consistent(&init, calls, &keep, bad).unwrap_or(true) {
            keep[i] = true;
        }
    }
    // The calls of the failing prefix, those answered after it as of unknown outcome.
    let mut sent = vec![false; calls.len()];
    let mut answered = vec![false; calls.len()];
    for event in events(calls).into_iter().take(bad) {
        match event {
            Event::Invoke(i) => sent[i] = true,
            Event::Return(i) => answered[i] = true,
        }
    }
    let shown = |i: usize| {
        let mut call = calls[i].clone();
        if !answered[i] {
            call.ret = None;
            call.returned_at = None;
        }
        call
    };
    Verdict::Anomaly {
        prefix: (0..calls.len()).filter(|&i| sent[i]).map(shown).collect(),
        core: (0..calls.len()).filter(|&i| sent[i] && keep[i]).map(shown).collect(),
    }
}
