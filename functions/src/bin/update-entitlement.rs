//! PATCH /entitlements/{entitlement_id}
use licensing::services::entitlements;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    entitlements::update(app, req.call(), &req.path("entitlement_id")?, req.json()?).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
