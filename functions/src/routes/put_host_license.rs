//! PUT /lrm/api/host/{hostAccountId}/license: set (replace) the host's purchased license.
use licensing::domain::allocation::quantities;
use licensing::services::allocation::{self, HostTerms};
use licensing::wire::lrm::HostLicenseBody;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: HostLicenseBody = req.json()?;
    let terms = HostTerms {
        products: quantities("products", &body.products)?,
        start_date: body.start_date,
        end_date: body.end_date,
        grace_period: body.grace_period,
        subscription_plan: body.subscription_plan,
    };
    allocation::set_host_license(app, req.call(), &req.path("hostAccountId")?, terms).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Host, handle).await
}
