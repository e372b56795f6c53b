//! GET /lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType} (the host, or that organization)
use licensing::services::allocation;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let account = req.path("accountId")?;
    let (scope, service_type) = (req.path("serviceScopeId")?, req.path("serviceType")?);
    allocation::get_tenant(app, req.call(), &account, &scope, &service_type).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::HostOrOrganization, handle).await
}
