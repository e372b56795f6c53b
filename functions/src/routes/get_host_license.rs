//! GET /lrm/api/host/{hostAccountId}/license
use licensing::services::allocation;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    allocation::get_host_license(app, req.call(), &req.path("hostAccountId")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Host, handle).await
}
