//! PUT /lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType} (POST too, as seed 002's curl sends it)
use licensing::domain::allocation::{quantities, ProductQuantity};
use licensing::json::check_len;
use licensing::services::allocation::{self, TenantRequest};
use licensing::{Access, ApiError, ApiResult, App, Reply, Request};
use serde::Deserialize;
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    #[serde(default)]
    tenant_name: Option<String>,
    #[serde(default)]
    products: Option<Vec<ProductQuantity>>,
    /// Seed 002's own example sends this name.
    #[serde(default)]
    product_quantities: Option<Vec<ProductQuantity>>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Body = req.json()?;
    if let Some(name) = &body.tenant_name {
        check_len("tenantName", name, 1, 255)?;
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
