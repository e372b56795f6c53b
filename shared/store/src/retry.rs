//! The one retry policy for writes that lost a race with another transaction:
//! a bounded number of attempts, each after a random pause that grows, and
//! one retryable answer (503 with `Retry-After`) when they are used up. A
//! change to one item that many requests write at once (a credit balance) is
//! bounded by time instead: each attempt it loses is another request's change
//! committed, so it keeps waiting its turn (the same growing pauses, which
//! spread the contenders out) for up to `HOT_ITEM_BUDGET`.

use crate::error::{ApiError, ApiResult};
use rand::Rng;
use std::time::Duration;

/// Attempts at one change before the conflict is reported as retryable.
pub const ATTEMPTS: u32 = 12;

/// How long a change to a hot item keeps trying: well inside a function's 10 s.
pub const HOT_ITEM_BUDGET: Duration = Duration::from_secs(6);

/// Counts the attempts of one change.
#[derive(Debug, Default)]
pub struct Conflicts {
    lost: u32,
    /// A refusal answered by the refusing item: counted once a write follows.
    owed: bool,
    /// For a hot item: when to stop trying (instead of a count of attempts).
    deadline: Option<std::time::Instant>,
}

impl Conflicts {
    pub fn new() -> Self {
        Self::default()
    }

    /// The budget of a change to an item many requests write at once.
    pub fn hot_item() -> Self {
        Self {
            deadline: Some(std::time::Instant::now() + HOT_ITEM_BUDGET),
            ..Self::default()
        }
    }

    /// When a hot item's budget ends (what waits before the first attempt
    /// spends the same budget).
    pub fn deadline(&self) -> Option<std::time::Instant> {
        self.deadline
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
        let spent = match self.deadline {
            Some(deadline) => std::time::Instant::now() >= deadline,
            None => self.lost >= ATTEMPTS,
        };
        if spent {
            return Err(ApiError::unavailable(format!(
                "still conflicting after {} attempts",
                self.lost
            )));
        }
        crate::aws_calls::note_retry();
        Ok(())
    }
}

/// What one attempt at a change came to.
#[derive(Debug)]
pub enum Attempt<T> {
    Done(T),
    /// Lost a race, or was refused by state that may change: pause, then try again.
    Lost,
    /// Try again at once, with nothing counted: the attempt took one step of
    /// several, or holds what refused it (`Conflicts::again`).
    Retry,
}

impl Conflicts {
    /// What follows an attempt: its result when done, a pause when lost (503
    /// past the budget), nothing when it is to be tried again at once.
    pub async fn settle<T>(&mut self, attempt: Attempt<T>) -> ApiResult<Option<T>> {
        match attempt {
            Attempt::Done(done) => return Ok(Some(done)),
            Attempt::Lost => self.pause().await?,
            Attempt::Retry => {}
        }
        Ok(None)
    }
}

/// Pins an attempt's answer to `ApiResult<Attempt<T>>`, so `?` in it converts to `ApiError`.
#[doc(hidden)]
pub fn attempt<T>(
    attempt: impl std::future::Future<Output = ApiResult<Attempt<T>>>,
) -> impl std::future::Future<Output = ApiResult<Attempt<T>>> {
    attempt
}

/// `until_done!(|conflicts| attempt)`: a future that runs `attempt` (async
/// code answering `ApiResult<Attempt<T>>`, where `return` and `?` leave the
/// attempt, not the caller) until it is done, pausing between lost attempts
/// under the one policy, to `ApiResult<T>`: 503 past the budget, and an error
/// from an attempt at once. `conflicts` is the count, for `again`,
/// `before_write` and `lost`.
///
/// A macro rather than a function of an `AsyncFnMut`: the future of one that
/// captures references is not yet provably `Send` (rust-lang/rust#139475),
/// and every handler's future must be.
#[macro_export]
macro_rules! until_done {
    (|$conflicts:pat_param| $attempt:expr) => {
        $crate::until_done!($crate::retry::Conflicts::new(), |$conflicts| $attempt)
    };
    ($budget:expr, |$conflicts:pat_param| $attempt:expr) => {
        async {
            let mut conflicts = $budget;
            loop {
                let attempt = $crate::retry::attempt(async {
                    let $conflicts = &mut conflicts;
                    $attempt
                })
                .await?;
                if let Some(done) = conflicts.settle(attempt).await? {
                    break $crate::error::ApiResult::Ok(done);
                }
            }
        }
    };
}
pub use crate::until_done;

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

    /// `until_done!` over an attempt answering `script` in turn, counting attempts.
    async fn run(script: Vec<ApiResult<Attempt<&'static str>>>) -> (ApiResult<&'static str>, usize, Duration) {
        let started = tokio::time::Instant::now();
        let mut script = script.into_iter();
        let mut attempts = 0;
        let answer = until_done!(|_| {
            attempts += 1;
            script.next().unwrap_or(Ok(Attempt::Lost))
        })
        .await;
        (answer, attempts, started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn done_on_the_first_attempt_without_a_pause() {
        let (answer, attempts, waited) = run(vec![Ok(Attempt::Done("done"))]).await;
        assert_eq!((answer.expect("done"), attempts, waited), ("done", 1, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn done_after_lost_attempts_each_paused_for() {
        let (answer, attempts, waited) = run(vec![
            Ok(Attempt::Lost),
            Ok(Attempt::Lost),
            Ok(Attempt::Lost),
            Ok(Attempt::Done("done")),
        ])
        .await;
        assert_eq!((answer.expect("done"), attempts), ("done", 4));
        assert!(waited >= Duration::from_millis(3), "three pauses of at least 1 ms");
        assert!(waited <= Duration::from_millis(10 + 20 + 40));
    }

    #[tokio::test(start_paused = true)]
    async fn the_count_reaches_the_attempt() {
        let mut seen = Vec::new();
        let answer = until_done!(|conflicts| {
            seen.push(conflicts.lost());
            Ok(if seen.len() < 3 {
                Attempt::Lost
            } else {
                Attempt::Done(())
            })
        })
        .await;
        answer.expect("done");
        assert_eq!(seen, [0, 1, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_with_a_retryable_answer_after_the_budget_of_attempts() {
        let (answer, attempts, _) = run(Vec::new()).await;
        let err = answer.expect_err("budget used up");
        assert_eq!(
            (err.status, err.code, err.retry_after),
            (503, "SERVICE_UNAVAILABLE", Some(1))
        );
        assert_eq!(attempts, ATTEMPTS as usize);
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_from_the_attempt_is_the_answer_at_once() {
        let (answer, attempts, waited) = run(vec![Err(ApiError::internal("broken"))]).await;
        let err = answer.expect_err("the attempt's error");
        assert_eq!((err.status, attempts, waited), (500, 1, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_neither_pauses_nor_counts() {
        let mut script: Vec<_> = (0..3 * ATTEMPTS).map(|_| Ok(Attempt::Retry)).collect();
        script.push(Ok(Attempt::Done("done")));
        let (answer, attempts, waited) = run(script).await;
        assert_eq!(answer.expect("done"), "done");
        assert_eq!((attempts, waited), (3 * ATTEMPTS as usize + 1, Duration::ZERO));
    }
}
