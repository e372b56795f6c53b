//! Turns at a hot item inside one process. A function may run several
//! requests at once (`AWS_LAMBDA_MAX_CONCURRENCY`); those that change the same
//! item (one credit balance) take turns here rather than race in DynamoDB,
//! where all but one attempt of each round would lose and be sent again. The
//! transaction's own condition still decides between processes: this only
//! saves the attempts a process would otherwise waste against itself.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

type Gate = tokio::sync::Mutex<()>;

static GATES: Mutex<BTreeMap<String, Weak<Gate>>> = Mutex::new(BTreeMap::new());

/// Waits for this process's turn at `item`; the turn lasts while the guard lives.
pub async fn take(item: String) -> tokio::sync::OwnedMutexGuard<()> {
    let gate = {
        let mut gates = GATES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Gates nobody holds or waits for are dropped as others are made.
        gates.retain(|_, gate| gate.strong_count() > 0);
        match gates.get(&item).and_then(Weak::upgrade) {
            Some(gate) => gate,
            None => {
                let gate = Arc::new(Gate::new(()));
                gates.insert(item, Arc::downgrade(&gate));
                gate
            }
        }
    };
    gate.lock_owned().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_turn_at_a_time_per_item_and_none_kept_after() {
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (inside, most) = (inside.clone(), most.clone());
                tokio::spawn(async move {
                    let _turn = take("balance-a".into()).await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        let other = take("balance-b".into()).await;
        for task in tasks {
            task.await.unwrap();
        }
        drop(other);
        assert_eq!(most.load(Ordering::SeqCst), 1);
        let _ = take("balance-c".into()).await;
        let gates = GATES.lock().unwrap();
        assert!(!gates.contains_key("balance-a") || gates["balance-a"].strong_count() == 0);
    }
}
