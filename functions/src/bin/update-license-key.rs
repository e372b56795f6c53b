//! PATCH /license_keys/{id}: activations_limit, disabled, expires_at.
use license_keys::Patch;
use licensing::json::nullable;
use licensing::services::license_keys;
use licensing::{Access, ApiResult, App, Reply, Request};
use serde::Deserialize;

#[derive(Deserialize)]
struct Body {
    #[serde(default, deserialize_with = "nullable")]
    activations_limit: Option<Option<i64>>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    expires_at: Option<Option<String>>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Body = req.json()?;
    let patch = Patch {
        activations_limit: body.activations_limit,
        disabled: body.disabled,
        expires_at: body.expires_at,
    };
    license_keys::update(app, req.call(), &req.path("id")?, patch).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
