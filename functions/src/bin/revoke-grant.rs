//! DELETE /entitlements/{entitlement_id}/grants/{grant_id}: revoke; its license key is disabled.
use licensing::json::check_len;
use licensing::{clock, Access, ApiError, ApiResult, App, Reply, Request};
use serde::Deserialize;

#[derive(Deserialize, Default)]
struct Revocation {
    #[serde(default)]
    reason: Option<String>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let entitlement_id = req.path("entitlement_id")?;
    let grant_id = req.path("grant_id")?;
    let reason = req.json::<Revocation>()?.reason.unwrap_or_else(|| "manual".to_string());
    check_len("reason", &reason, 1, 500)?;
    let revoked = app
        .store
        .revoke_grant(
            req.principal_id(),
            &entitlement_id,
            &grant_id,
            &reason,
            &clock::now_rfc3339(),
        )
        .await?;
    Reply::ok(
        &revoked
            .ok_or_else(|| ApiError::not_found("grant"))?
            .presented(clock::now()),
    )
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
