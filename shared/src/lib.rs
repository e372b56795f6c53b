//! The licensing service's shared crate: the glue every function shares
//! (`http`, `reply`, `idempotency`, `auth`, `error`), one application service per
//! capability (`services`), pure rules (`domain`), DynamoDB (`store`) and the
//! wire shapes of the families (`wire`).

pub mod app;
pub mod auth;
pub mod aws_calls;
pub mod call;
pub mod clock;
pub mod digest;
pub mod domain;
pub mod error;
pub mod failpoints;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod json;
pub mod mailer;
pub mod offline_license;
pub mod reply;
pub mod retry;
pub mod services;
pub mod store;
pub mod webhook_sender;
pub mod wire;

pub use app::App;
pub use auth::Access;
pub use call::Call;
pub use error::{ApiError, ApiResult, ErrorStyle};
pub use http::{serve, serve_key_set, serve_with, Request};
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
