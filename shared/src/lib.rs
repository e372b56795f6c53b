//! The licensing service's shared crate: the glue every function shares
//! (`http`, `idempotency`, `auth`, `error`), one application service per
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
pub mod retry;
pub mod services;
pub mod store;
pub mod webhook_sender;
pub mod wire;

pub use app::App;
pub use auth::Access;
pub use call::Call;
pub use error::{ApiError, ApiResult, ErrorStyle};
pub use http::{serve, serve_with, Reply, Request};

/// JSON log lines without colour codes, as CloudWatch wants them; `RUST_LOG` sets the level.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}
