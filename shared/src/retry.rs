//! Bounded retries of writes that lost a race with another transaction.

use rand::Rng;
use std::time::Duration;

/// How many times a write that lost to a concurrent transaction is tried again.
pub const MAX_CONFLICT_RETRIES: u32 = 6;

/// A short random pause that grows with `attempt`, so contenders spread out.
pub async fn pause(attempt: u32) {
    crate::calls::note_retry();
    let ceiling_ms = 10u64 << attempt.min(6);
    let wait = rand::thread_rng().gen_range(1..=ceiling_ms);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}
