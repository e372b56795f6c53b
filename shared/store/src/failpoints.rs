//! Places where the crash, race and verification tests stop, hold or break a
//! function process. They exist only in builds with the `failpoints` feature
//! (`make test` builds the functions with it); elsewhere they compile to nothing.
//!
//! `FAILPOINT=after-commit` aborts the process right after a transaction
//! commits, before the request is answered; `after-commit@N` does so at the
//! process's Nth commit only, so a supervisor that restarts it gets a crash
//! every N commits. `FAILPOINT=pause-before-commit` holds every transaction
//! for 1.5 s after its reads, so a test can change what it read in the
//! meantime and see the condition refuse the stale write.
//!
//! `FAILPOINT=stale-count` is a deliberate bug, for the verification run to
//! show that its checker catches one (docs/VERIFICATION.md): a license key's
//! count is answered from this process's own read of it up to 2 s old.

#[cfg(feature = "failpoints")]
fn armed() -> Option<&'static str> {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ARMED.get_or_init(|| std::env::var("FAILPOINT").ok()).as_deref()
}

#[inline]
pub async fn before_commit() {
    #[cfg(feature = "failpoints")]
    if armed() == Some("pause-before-commit") {
        tracing::warn!("failpoint pause-before-commit: holding the transaction");
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    }
}

#[inline]
pub fn after_commit() {
    #[cfg(feature = "failpoints")]
    {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COMMITS: AtomicU64 = AtomicU64::new(0);
        let at = match armed() {
            Some("after-commit") => 1,
            Some(spec) => match spec.strip_prefix("after-commit@").map(str::parse::<u64>) {
                Some(Ok(nth)) => nth,
                _ => return,
            },
            None => return,
        };
        if COMMITS.fetch_add(1, Ordering::Relaxed) + 1 >= at {
            tracing::warn!("failpoint after-commit: aborting");
            std::process::abort();
        }
    }
}

/// The count to answer for the key `key_id` whose count was just read as `fresh`.
#[inline]
pub fn count_read(key_id: &str, fresh: i64) -> i64 {
    #[cfg(feature = "failpoints")]
    if armed() == Some("stale-count") {
        use std::collections::HashMap;
        use std::sync::Mutex;
        use std::time::{Duration, Instant};
        static SEEN: Mutex<Option<HashMap<String, (Instant, i64)>>> = Mutex::new(None);
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        let seen = seen.get_or_insert_with(HashMap::new);
        let now = Instant::now();
        let (at, count) = *seen.entry(key_id.to_owned()).or_insert((now, fresh));
        if now.duration_since(at) < Duration::from_secs(2) {
            return count;
        }
        seen.insert(key_id.to_owned(), (now, fresh));
    }
    let _ = key_id;
    fresh
}
