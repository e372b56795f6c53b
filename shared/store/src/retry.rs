//! The one retry policy for writes that lost a race with another transaction:
//! a bounded number of attempts, each after a random pause that grows, and
//! one retryable answer (503 with `Retry-After`) when they are used up.

use crate::error::{ApiError, ApiResult};
use rand::Rng;
use std::time::Duration;

/// Attempts at one change before the conflict is reported as retryable.
pub const ATTEMPTS: u32 = 12;

/// Counts the attempts of one change.
#[derive(Debug, Default)]
pub struct Conflicts {
    lost: u32,
    /// A refusal answered by the refusing item: counted once a write follows.
    owed: bool,
}

impl Conflicts {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many attempts have lost so far.
    pub fn lost(&self) -> u32 {
        self.lost
    }

    /// The last attempt lost: pause before the next one, or give up with 503.
    pub async fn pause(&mut self) -> ApiResult<()> {
        self.count()?;
        let wait = backoff(self.lost, &mut rand::thread_rng());
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// The last attempt was refused by a change it holds the result of (the
    /// refusing item as it is now): decide again at once. It counts against
    /// the budget only if that decision writes again (`before_write`), so a
    /// final refusal is answered as such, never as 503.
    pub fn again(&mut self) {
        self.owed = true;
    }

    /// Before a write: an attempt owed by `again` is counted now, or 503 past the budget.
    pub fn before_write(&mut self) -> ApiResult<()> {
        if std::mem::take(&mut self.owed) {
            self.count()?;
        }
        Ok(())
    }

    fn count(&mut self) -> ApiResult<()> {
        self.lost += 1;
        if self.lost >= ATTEMPTS {
            return Err(ApiError::unavailable(format!(
                "still conflicting after {ATTEMPTS} attempts"
            )));
        }
        crate::aws_calls::note_retry();
        Ok(())
    }
}

/// Full jitter under a ceiling that doubles per lost attempt, from 10 ms up to 640 ms.
fn backoff(lost: u32, rng: &mut impl Rng) -> Duration {
    let ceiling_ms = 10u64 << lost.saturating_sub(1).min(6);
    Duration::from_millis(rng.gen_range(1..=ceiling_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_stay_bounded() {
        let mut rng = rand::thread_rng();
        for _ in 0..200 {
            assert!(backoff(1, &mut rng) <= Duration::from_millis(10));
            assert!(backoff(3, &mut rng) <= Duration::from_millis(40));
            assert!(backoff(40, &mut rng) <= Duration::from_millis(640));
            assert!(backoff(40, &mut rng) >= Duration::from_millis(1));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_with_a_retryable_answer_after_the_budget() {
        let mut conflicts = Conflicts::new();
        for _ in 1..ATTEMPTS {
            conflicts.pause().await.expect("within budget");
        }
        let err = conflicts.pause().await.expect_err("budget used up");
        assert_eq!((err.status, err.code), (503, "SERVICE_UNAVAILABLE"));
        assert_eq!(conflicts.lost(), ATTEMPTS);
    }

    #[test]
    fn a_refusal_decided_again_counts_only_when_it_writes_again() {
        let mut conflicts = Conflicts::new();
        for _ in 0..3 * ATTEMPTS {
            conflicts.again(); // each decided again without writing: nothing spent
        }
        assert_eq!(conflicts.lost(), 0);
        conflicts.before_write().expect("nothing owed yet");
        assert_eq!(conflicts.lost(), 1);
        conflicts.before_write().expect("owed once, counted once");
        assert_eq!(conflicts.lost(), 1);
        for _ in 2..ATTEMPTS {
            conflicts.again();
            conflicts.before_write().expect("within budget");
        }
        conflicts.again();
        let err = conflicts.before_write().expect_err("budget used up");
        assert_eq!((err.status, err.code), (503, "SERVICE_UNAVAILABLE"));
    }
}
