//! PUT /lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType} (POST too, as seed 002's curl sends it)
use licensing::domain::allocation::{quantities, ProductQuantity};
use licensing::lrm::{self, TenantRequest};
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
    let account = req.path("accountId")?;
    let scope = req.path("serviceScopeId")?;
    let service_type = req.path("serviceType")?;
    lrm::check_id("serviceScopeId", &scope)?;
    let valid_type = (2..=32).contains(&service_type.len())
        && service_type.starts_with(|c: char| c.is_ascii_lowercase())
        && service_type
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid_type {
        return Err(ApiError::validation("serviceType", "must match ^[a-z][a-z0-9-]{1,31}$"));
    }
    let body: Body = req.json()?;
    if let Some(name) = &body.tenant_name {
        licensing::json::check_len("tenantName", name, 1, 255)?;
    }
    let products = match (&body.products, &body.product_quantities) {
        (Some(list), _) => quantities("products", list)?,
        (None, Some(list)) => quantities("productQuantities", list)?,
        (None, None) => return Err(ApiError::validation("products", "is required")),
    };
    let principal = req.principal().ok_or_else(ApiError::unauthorized)?;
    let request = TenantRequest {
        scope,
        service_type,
        tenant_name: body.tenant_name,
        products,
    };
    let route = "PUT /lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType}";
    let (org, tenant) = lrm::allocate_tenant(app, principal, &account, request, route).await?;
    Reply::ok(&lrm::tenant_view(&org, &tenant))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Host, handle).await
}
