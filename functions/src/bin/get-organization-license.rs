//! GET /lrm/api/host/{hostAccountId}/organization/{organizationId}/license (the host, or that organization)
use licensing::{lrm, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let host = req.path("hostAccountId")?;
    let organization = req.path("organizationId")?;
    let principal = req.principal().ok_or_else(ApiError::unauthorized)?;
    let license = lrm::visible_org(app, principal, &organization).await?;
    if license.host_account_id != host {
        return Err(ApiError::new(
            404,
            "ACCOUNT_LICENSE_NOT_FOUND",
            "no such organization under this host",
        ));
    }
    Reply::ok(&lrm::org_view(&license))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::HostOrOrganization, handle).await
}
