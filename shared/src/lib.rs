//! The licensing service's domain crate: pure rules in `domain`, DynamoDB in
//! `store`, and the glue every Lambda function shares in `http`.

pub mod app;
pub mod auth;
pub mod calls;
pub mod clock;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod http;
pub mod ids;
pub mod json;
pub mod lrm;
pub mod mailer;
pub mod retry;
pub mod store;

pub use app::App;
pub use auth::Access;
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
