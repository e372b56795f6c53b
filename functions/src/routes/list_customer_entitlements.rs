//! GET /customers/{customer_id}/entitlements: what the customer is entitled to now.
use licensing::services::grants;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    grants::entitlements_of_customer(app, req.call(), &req.path("customer_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
