//! PUT /lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType} (POST too, as seed 002's curl sends it)
use licensing::services::allocation::{self, TenantRequest};
use licensing::wire::lrm::ServiceAllocation;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (tenant_name, products) = req.json::<ServiceAllocation>()?.checked()?;
    let request = TenantRequest {
        scope: req.path("serviceScopeId")?,
        service_type: req.path("serviceType")?,
        tenant_name,
        products,
    };
    allocation::allocate_tenant(app, req.call(), &req.path("accountId")?, request).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Host, handle).await
}
