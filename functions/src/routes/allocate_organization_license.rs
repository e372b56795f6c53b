//! PUT /lrm/api/host/{hostAccountId}/organization/{organizationId}/license (POST too, as seed 001's curl sends it)
use licensing::domain::allocation::quantities;
use licensing::services::allocation;
use licensing::wire::lrm::OrganizationAllocation;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (host, organization) = (req.path("hostAccountId")?, req.path("organizationId")?);
    let body: OrganizationAllocation = req.json()?;
    let wanted = quantities("productQuantities", &body.product_quantities)?;
    allocation::allocate_org(app, req.call(), &host, &organization, wanted).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Host, handle).await
}
