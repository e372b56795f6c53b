//! DELETE /entitlements/{entitlement_id}/grants/{grant_id}: revoke; its license key is disabled.
use licensing::json::check_len;
use licensing::services::grants;
use licensing::{Access, ApiResult, App, Reply, Request};
use serde::Deserialize;

#[derive(Deserialize)]
struct Revocation {
    #[serde(default)]
    reason: Option<String>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (entitlement_id, grant_id) = (req.path("entitlement_id")?, req.path("grant_id")?);
    let reason = req.json::<Revocation>()?.reason.unwrap_or_else(|| "manual".to_string());
    check_len("reason", &reason, 1, 500)?;
    grants::revoke(app, req.call(), &entitlement_id, &grant_id, &reason).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
