//! POST /entitlements/{entitlement_id}/grants
use licensing::services::grants;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    grants::issue(app, req.call(), &req.path("entitlement_id")?, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
