//! Recorded client histories checked for linearizability against sequential
//! models of the service's objects.
//!
//! The models are `stateright` sequential specifications. stateright's own
//! `LinearizabilityTester` searches without remembering where it has been:
//! on sixteen clients' overlapping calls it did not finish a 20-call history
//! in a minute. So `check` searches as Knossos and Porcupine do (Wing and
//! Gong's search with Lowe's memory of visited states), and
//! `tests/agreement.rs` holds that search to stateright's verdict on
//! thousands of small histories.
//!
//! A history is what concurrent clients saw: for each call, when it was sent,
//! what it asked, and when and what it was answered, or that its outcome is
//! unknown (a timeout, a 503, a cut connection: Jepsen's `info`). A refusal is
//! an answer like any other: a debit refused while the credits were there is
//! an anomaly. `check` answers the order in which the object could have taken
//! every call, or the first answer no order explains, with the fewest reads
//! and refusals that cannot be given together with the changes.

pub mod models;

use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;
use std::hash::Hash;

/// A sequential specification that says which calls, so answered, change
/// nothing in any state (a read, a refusal). The search takes such a call as
/// soon as it fits, and a failing history is minimised by dropping those it
/// does not need.
pub trait Model: SequentialSpec {
    fn changes_nothing(op: &Self::Op, ret: Option<&Self::Ret>) -> bool;
}

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
    /// No order explains the history. `failing`: the first answer that
    /// cannot be given; `prefix`: every call sent up to it (those answered
    /// later shown as of unknown outcome); `core`: the changes of the prefix
    /// and as few of its reads and refusals as still cannot be ordered with
    /// them (drop any one and the rest can). Each in the order sent.
    Anomaly {
        failing: Call<Op, Ret>,
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

/// Feeds `calls` (only those `keep` admits) into stateright's tester, up to the
/// `upto`-th event. A client whose call's outcome is unknown goes on as a new
/// thread: the tester keeps that call in flight for ever, as it may yet have
/// taken effect. Its search has no memory of the states it has been through,
/// so it is the reference for small histories (`tests/agreement.rs`), not the
/// search `check` uses.
pub fn tester<S>(
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

/// One event of the search's list: a call's invocation or its answer.
#[derive(Clone, Copy)]
struct Node {
    call: usize,
    answer: bool,
    prev: usize,
    next: usize,
}

/// An order in which the object could have taken the kept calls of the first
/// `upto` events, each at an instant between its invocation and its answer;
/// `None` if there is none.
///
/// The search of Wing and Gong with Lowe's memory (as Porcupine and Knossos
/// do it): walk the events in time order; at an invocation, try to take that
/// call now (its answer must be the model's); at an answer whose call was not
/// taken, undo the last call taken and try the next one. A set of calls taken
/// and the state they left, once seen, is never explored again, which is what
/// keeps sixteen clients' overlapping calls from taking exponential time. A
/// call of unknown outcome has no answer event: it may be taken at any point
/// after its invocation, with any answer, or at the very end (which is the
/// same as never, as nothing observes the object after the last answer).
fn linearize<S>(init: &S, calls: &[Call<S::Op, S::Ret>], keep: &[bool], upto: usize) -> Option<Vec<usize>>
where
    S: Model + Clone + Eq + Hash,
    S::Ret: PartialEq,
{
    let mut answered = vec![false; calls.len()];
    let mut order: Vec<(usize, bool)> = Vec::new();
    for event in events(calls).into_iter().take(upto) {
        match event {
            Event::Invoke(i) if keep[i] => order.push((i, false)),
            Event::Return(i) if keep[i] => {
                answered[i] = true;
                order.push((i, true));
            }
            _ => {}
        }
    }
    // Answers cut off by `upto`, and unknown outcomes, come after everything.
    let taken_calls: Vec<usize> = order.iter().filter(|(_, a)| !a).map(|(i, _)| *i).collect();
    for &i in &taken_calls {
        if !answered[i] {
            order.push((i, true));
        }
    }
    // A doubly linked list over the events, with node 0 as its head.
    let mut nodes = vec![Node {
        call: usize::MAX,
        answer: false,
        prev: 0,
        next: 1,
    }];
    let mut answer_node = vec![0usize; calls.len()];
    for (n, &(call, answer)) in order.iter().enumerate() {
        let at = n + 1;
        if answer {
            answer_node[call] = at;
        }
        nodes.push(Node {
            call,
            answer,
            prev: at - 1,
            next: at + 1,
        });
    }
    let end = nodes.len();
    let unlink = |nodes: &mut Vec<Node>, at: usize| {
        let Node { prev, next, .. } = nodes[at];
        nodes[prev].next = next;
        if next < end {
            nodes[next].prev = prev;
        }
    };
    let relink = |nodes: &mut Vec<Node>, at: usize| {
        let Node { prev, next, .. } = nodes[at];
        nodes[prev].next = at;
        if next < end {
            nodes[next].prev = at;
        }
    };
    let mut taken = vec![0u64; calls.len().div_ceil(64)];
    let mut seen: HashSet<(Vec<u64>, S)> = HashSet::new();
    // Each call taken: its node, the state before it, and whether it only read.
    let mut stack: Vec<(usize, S, bool)> = Vec::new();
    let mut state = init.clone();
    let mut at = nodes[0].next;
    while nodes[0].next < end {
        if at >= end {
            return None;
        }
        let node = nodes[at];
        if !node.answer {
            let call = &calls[node.call];
            let mut next_state = state.clone();
            let fits = match (&call.ret, answered[node.call]) {
                (Some(ret), true) => next_state.is_valid_step(&call.op, ret),
                _ => {
                    next_state.invoke(&call.op);
                    true
                }
            };
            if fits {
                taken[node.call / 64] |= 1 << (node.call % 64);
                if seen.insert((taken.clone(), next_state.clone())) {
                    let read = S::changes_nothing(&call.op, call.ret.as_ref().filter(|_| answered[node.call]));
                    stack.push((at, std::mem::replace(&mut state, next_state), read));
                    unlink(&mut nodes, at);
                    unlink(&mut nodes, answer_node[node.call]);
                    at = nodes[0].next;
                    continue;
                }
                taken[node.call / 64] &= !(1 << (node.call % 64));
            }
            at = node.next;
        } else {
            // An answer before its call was taken: undo the last call taken, and
            // the calls that changed nothing taken after it. Such a call (a
            // read, a refusal) that fits the state when it is reached is taken
            // there and then: every call that must precede it is taken
            // already, so if any order follows, one with it taken there does
            // too. Undoing it alone would only search the same orders again.
            loop {
                let (undone, before, read) = stack.pop()?;
                let call = nodes[undone].call;
                relink(&mut nodes, answer_node[call]);
                relink(&mut nodes, undone);
                taken[call / 64] &= !(1 << (call % 64));
                state = before;
                at = nodes[undone].next;
                if !read {
                    break;
                }
            }
        }
    }
    Some(stack.into_iter().map(|(at, _, _)| nodes[at].call).collect())
}

fn consistent<S>(init: &S, calls: &[Call<S::Op, S::Ret>], keep: &[bool], upto: usize) -> bool
where
    S: Model + Clone + Eq + Hash,
    S::Ret: PartialEq,
{
    linearize(init, calls, keep, upto).is_some()
}

/// Whether the object, starting as `init`, could have answered `calls` as
/// they were answered, each taking effect at one instant between its sending
/// and its answer.
pub fn check<S>(init: S, calls: &[Call<S::Op, S::Ret>]) -> Verdict<S::Op, S::Ret>
where
    S: Model + Clone + Debug + Eq + Hash,
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
    if let Err(problem) = tester(&init, calls, &every, all) {
        return Verdict::Malformed(problem);
    }
    if let Some(order) = linearize(&init, calls, &every, all) {
        let mut state = init;
        let order = order
            .into_iter()
            .map(|i| {
                let call = &calls[i];
                let ret = match &call.ret {
                    Some(ret) => {
                        state.is_valid_step(&call.op, ret);
                        ret.clone()
                    }
                    None => state.invoke(&call.op),
                };
                (call.op.clone(), ret)
            })
            .collect();
        return Verdict::Linearizable(order);
    }
    // Linearizability is closed under prefixes (a call cut off before its
    // answer is one of unknown outcome): the shortest failing prefix ends on
    // the answer that cannot be given.
    let (mut good, mut bad) = (0, all);
    while bad - good > 1 {
        let mid = (good + bad) / 2;
        if consistent(&init, calls, &every, mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    // Then the calls that changed nothing (reads, refusals) and are not
    // needed for the failure are dropped: first in large runs (while the
    // history is long, each search of a failing one is costly), then one at
    // a time, so that dropping any one left would make the rest orderable.
    // Changes are all kept: without the changes that made the object's
    // state, any later answer would fail, and say nothing.
    let mut in_prefix = vec![false; calls.len()];
    let mut answered_in_prefix = vec![false; calls.len()];
    for event in events(calls).into_iter().take(bad) {
        match event {
            Event::Invoke(i) => in_prefix[i] = true,
            Event::Return(i) => answered_in_prefix[i] = true,
        }
    }
    let mut keep = in_prefix.clone();
    let mut reads: Vec<usize> = (0..calls.len())
        .filter(|&i| {
            in_prefix[i] && S::changes_nothing(&calls[i].op, calls[i].ret.as_ref().filter(|_| answered_in_prefix[i]))
        })
        .collect();
    reads.sort_by_key(|&i| calls[i].invoked_at);
    let mut run = reads.len().div_ceil(2).max(1);
    loop {
        let kept: Vec<usize> = reads.iter().copied().filter(|&i| keep[i]).collect();
        for block in kept.chunks(run) {
            for &i in block {
                keep[i] = false;
            }
            if consistent(&init, calls, &keep, bad) {
                for &i in block {
                    keep[i] = true;
                }
            }
        }
        if run == 1 {
            break;
        }
        run = run.div_ceil(2);
    }
    // The calls of the failing prefix, those answered after it as of unknown outcome.
    let shown = |i: usize| {
        let mut call = calls[i].clone();
        if !answered_in_prefix[i] {
            call.ret = None;
            call.returned_at = None;
        }
        call
    };
    let failing = match events(calls).into_iter().nth(bad - 1) {
        Some(Event::Return(i) | Event::Invoke(i)) => calls[i].clone(),
        None => unreachable!("a failing prefix has an event"),
    };
    let in_order = |mut chosen: Vec<usize>| {
        chosen.sort_by_key(|&i| calls[i].invoked_at);
        chosen.into_iter().map(shown).collect()
    };
    Verdict::Anomaly {
        failing,
        prefix: in_order((0..calls.len()).filter(|&i| in_prefix[i]).collect()),
        core: in_order((0..calls.len()).filter(|&i| keep[i]).collect()),
    }
}
