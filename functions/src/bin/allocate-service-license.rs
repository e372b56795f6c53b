//! PUT /lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType} (POST too, as seed 002's curl sends it)
use licensing::domain::allocation::{quantities, TENANT_NAME_MAX};
use licensing::json::check_len;
use licensing::services::allocation::{self, TenantRequest};
use licensing::wire::lrm::ServiceAllocation;
use licensing::{Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: ServiceAllocation = req.json()?;
    if let Some(name) = &body.tenant_name {
        check_len("tenantName", name, 1, TENANT_NAME_MAX)?;
    }
    let products = match (&body.products, &body.product_quantities) {
        (Some(list), _) => quantities("products", list)?,
        (None, Some(list)) => quantities("productQuantities", list)?,
        (None, None) => return Err(ApiError::validation("products", "is required")),
    };
    let request = TenantRequest {
        scope: req.path("serviceScopeId")?,
        service_type: req.path("serviceType")?,
        tenant_name: body.tenant_name,
        products,
    };
    let route = "PUT /lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType}";
    allocation::allocate_tenant(app, req.call(), &req.path("accountId")?, request, route).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Host, handle).await
}
