//! PUT /lrm/api/host/{hostAccountId}/organization/{organizationId}/license (POST too, as seed 001's curl sends it)
use licensing::domain::allocation::{quantities, ProductQuantity};
use licensing::{lrm, Access, ApiError, ApiResult, App, Reply, Request};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    product_quantities: Vec<ProductQuantity>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let host = req.path("hostAccountId")?;
    let organization = req.path("organizationId")?;
    if host != req.principal_id() {
        return Err(ApiError::new(404, "HOST_LICENSE_NOT_FOUND", "no such host"));
    }
    lrm::check_id("organizationId", &organization)?;
    let body: Body = req.json()?;
    let wanted = quantities("productQuantities", &body.product_quantities)?;
    let actor = req.principal().map(ToString::to_string).unwrap_or_default();
    let route = "PUT /lrm/api/host/{hostAccountId}/organization/{organizationId}/license";
    let license = lrm::allocate_org(app, &host, &organization, wanted, &actor, route).await?;
    Reply::ok(&lrm::org_view(&license))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Host, handle).await
}
