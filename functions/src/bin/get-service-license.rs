//! GET /lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType} (the host, or that organization)
use licensing::{lrm, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let account = req.path("accountId")?;
    let principal = req.principal().ok_or_else(ApiError::unauthorized)?;
    let (scope, service_type) = (req.path("serviceScopeId")?, req.path("serviceType")?);
    let (org, tenant) = app.store.org_and_tenant(&account, &scope, &service_type).await?;
    let org = lrm::visible(principal, org)?;
    let tenant =
        tenant.ok_or_else(|| ApiError::new(404, "SERVICE_LICENSE_NOT_FOUND", "this tenant service has no license"))?;
    Reply::ok(&lrm::tenant_view(&org, &tenant))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::HostOrOrganization, handle).await
}
