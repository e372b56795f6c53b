//! PUT /lrm/api/host/{hostAccountId}/organization/{organizationId}/license (POST too, as seed 001's curl sends it)
use licensing::domain::allocation::{quantities, ProductQuantity};
use licensing::services::allocation;
use licensing::{Access, ApiResult, App, Reply, Request};
use serde::Deserialize;
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    product_quantities: Vec<ProductQuantity>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (host, organization) = (req.path("hostAccountId")?, req.path("organizationId")?);
    let body: Body = req.json()?;
    let wanted = quantities("productQuantities", &body.product_quantities)?;
    let route = "PUT /lrm/api/host/{hostAccountId}/organization/{organizationId}/license";
    allocation::allocate_org(app, req.call(), &host, &organization, wanted, route).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Host, handle).await
}
