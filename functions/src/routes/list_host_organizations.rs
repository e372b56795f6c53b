//! GET /lrm/api/host/{hostAccountId}/organizations?page_size=&cursor= (the host)
use licensing::services::allocation;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    allocation::list_host_orgs(app, req.call(), &req.path("hostAccountId")?, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Host, handle).await
}
