//! DELETE /webhooks/{webhook_id}
use licensing::services::webhooks;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    webhooks::delete(app, req.call(), &req.path("webhook_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
