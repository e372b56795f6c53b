//! PATCH /webhooks/{webhook_id}/headers: adds or changes the endpoint's own headers
use licensing::services::webhooks;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    webhooks::update_headers(app, req.call(), &req.path("webhook_id")?, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
