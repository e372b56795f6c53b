//! Turns at a hot item inside one process. A function may run several
//! requests at once (`AWS_LAMBDA_MAX_CONCURRENCY`); those that change the same
//! item (one credit balance) take turns here rather than race in DynamoDB,
//! where all but one attempt of each round would lose and be sent again. The
//! transaction's own condition still decides between processes: this only
//! saves the attempts a process would otherwise waste against itself.

use crate::error::{ApiError, ApiResult};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

type Gate = tokio::sync::Mutex<()>;

static GATES: Mutex<BTreeMap<String, Weak<Gate>>> = Mutex::new(BTreeMap::new());

/// Waits for this process's turn at `item`, until `deadline` at most (then
/// 503, as a change that kept losing); the turn lasts while the guard lives.
pub async fn take(item: String, deadline: Option<std::time::Instant>) -> ApiResult<tokio::sync::OwnedMutexGuard<()>> {
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
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline.into(), gate.lock_owned())
            .await
            .map_err(|_| ApiError::unavailable("still waiting for a turn at a busy item")),
        None => Ok(gate.lock_owned().await),
    }
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
                    let _turn = take("balance-a".into(), None).await.unwrap();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        let other = take("balance-b".into(), None).await.unwrap();
        for task in tasks {
            task.await.unwrap();
        }
        drop(other);
        assert_eq!(most.load(Ordering::SeqCst), 1);
        let _ = take("balance-c".into(), None).await.unwrap();
        let held = take("balance-d".into(), None).await.unwrap();
        let soon = std::time::Instant::now() + std::time::Duration::from_millis(20);
        let waited = take("balance-d".into(), Some(soon)).await;
        assert_eq!(
            waited.unwrap_err().status,
            503,
            "a turn not come by the deadline is a retryable answer"
        );
        drop(held);
        let gates = GATES.lock().unwrap();
        assert!(!gates.contains_key("balance-a") || gates["balance-a"].strong_count() == 0);
    }
}
