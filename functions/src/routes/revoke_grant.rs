//! DELETE /entitlements/{entitlement_id}/grants/{grant_id}: revoke; its license key is disabled.
use licensing::domain::grant_requests::Revocation;
use licensing::services::grants;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (entitlement_id, grant_id) = (req.path("entitlement_id")?, req.path("grant_id")?);
    let reason = req.json::<Revocation>()?.reason()?;
    grants::revoke(app, req.call(), &entitlement_id, &grant_id, &reason).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
