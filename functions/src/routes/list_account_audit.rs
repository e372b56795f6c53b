//! GET /lrm/api/account/{accountId}/audit?page_size=&page_number=&cursor= (the host, or that organization)
use licensing::services::allocation;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    allocation::audit_page(app, req.call(), &req.path("accountId")?, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::HostOrOrganization, handle).await
}
