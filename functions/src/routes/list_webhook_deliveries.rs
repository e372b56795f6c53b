//! GET /webhooks/{webhook_id}/deliveries?limit=&iterator=: every event sent to the endpoint, with its attempts
use licensing::services::webhooks;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    webhooks::deliveries(app, req.call(), &req.path("webhook_id")?, &req.limit_page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
