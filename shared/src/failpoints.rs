//! Places where the crash tests stop a function process. They exist only in
//! builds with the `failpoints` feature (`make test` builds the functions with
//! it); elsewhere they compile to nothing.
//!
//! `FAILPOINT=after-commit` aborts the process right after a transaction
//! commits, before the request is answered.

#[cfg(feature = "failpoints")]
fn armed(name: &str) -> bool {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ARMED.get_or_init(|| std::env::var("FAILPOINT").ok()).as_deref() == Some(name)
}

#[inline]
pub fn after_commit() {
    #[cfg(feature = "failpoints")]
    if armed("after-commit") {
        tracing::warn!("failpoint after-commit: aborting");
        std::process::abort();
    }
}
