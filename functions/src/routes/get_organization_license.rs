//! GET /lrm/api/host/{hostAccountId}/organization/{organizationId}/license (the host, or that organization)
use licensing::services::allocation;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (host, organization) = (req.path("hostAccountId")?, req.path("organizationId")?);
    allocation::get_org_license(app, req.call(), &host, &organization).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::HostOrOrganization, handle).await
}
