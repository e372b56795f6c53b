//! Places where the crash and race tests stop or hold a function process. They exist only in
//! builds with the `failpoints` feature (`make test` builds the functions with
//! it); elsewhere they compile to nothing.
//!
//! `FAILPOINT=after-commit` aborts the process right after a transaction
//! commits, before the request is answered. `FAILPOINT=pause-before-commit`
//! holds every transaction for 1.5 s after its reads, so a test can change
//! what it read in the meantime and see the condition refuse the stale write.

#[cfg(feature = "failpoints")]
fn armed(name: &str) -> bool {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ARMED.get_or_init(|| std::env::var("FAILPOINT").ok()).as_deref() == Some(name)
}

#[inline]
pub async fn before_commit() {
    #[cfg(feature = "failpoints")]
    if armed("pause-before-commit") {
        tracing::warn!("failpoint pause-before-commit: holding the transaction");
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    }
}

#[inline]
pub fn after_commit() {
    #[cfg(feature = "failpoints")]
    if armed("after-commit") {
        tracing::warn!("failpoint after-commit: aborting");
        std::process::abort();
    }
}
