//! GET /lrm/api/host/{hostAccountId}/license
use licensing::{lrm, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let host = req.path("hostAccountId")?;
    if host != req.principal_id() {
        return Err(ApiError::new(404, "HOST_LICENSE_NOT_FOUND", "no such host"));
    }
    Reply::ok(&lrm::host_view(&lrm::own_host_license(app, &host).await?))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Host, handle).await
}
