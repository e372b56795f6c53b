//! The application crate: one service per capability (`services`), the glue
//! every function shares (`http`, `reply`, `idempotency`, `auth`, `body`), and
//! the adapters for SES, KMS and outbound HTTP. It stands on two crates Cargo
//! keeps below it: `licensing_store` (DynamoDB, the error catalogue, retries)
//! and `licensing_domain` (pure rules and wire shapes), re-exported here so a
//! function depends on this crate only.

pub mod app;
pub mod auth;
pub mod body;
pub mod call;
pub mod files;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod mailer;
pub mod offline_license;
pub mod portal_page;
pub mod reply;
pub mod services;
pub mod turns;
pub mod webhook_sender;

pub use licensing_domain as domain;
pub use licensing_domain::{digest, json, wire};
pub use licensing_store as store;
pub use licensing_store::{aws_calls, clock, error, failpoints, retry};

pub use app::App;
pub use auth::Access;
pub use call::Call;
pub use error::{ApiError, ApiResult, ErrorStyle};
pub use http::{
    serve, serve_files, serve_key_set, serve_unkept, serve_upload, serve_with, serve_with_entry_keys, Request, Site,
    MAX_QUERY_VALUE,
};
pub use reply::Reply;

/// JSON log lines without colour codes, as CloudWatch wants them; `RUST_LOG`
/// sets the level (`error` to `trace`, `info` otherwise). A level, not per-crate
/// directives: those would link a regex engine into every function.
pub fn init_tracing() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|value| value.trim().parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}
