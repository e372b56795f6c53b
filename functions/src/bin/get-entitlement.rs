//! GET /entitlements/{entitlement_id}
use licensing::services::entitlements;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    entitlements::get(app, req.call(), &req.path("entitlement_id")?).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
