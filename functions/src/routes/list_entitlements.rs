//! GET /entitlements?integration_type=&page_size=&page_number=&cursor=
use licensing::services::entitlements;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    entitlements::list(app, req.call(), req.query("integration_type"), &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
