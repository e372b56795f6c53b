//! POST /grants/{grant_id}/license-key: fulfil a Pending manual license-key grant.
use licensing::services::grants;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    grants::fulfil(app, req.call(), &req.path("grant_id")?, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
