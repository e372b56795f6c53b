//! PUT /lrm/api/host/{hostAccountId}/license: set (replace) the host's purchased license.
use licensing::domain::allocation::{quantities, ProductQuantity};
use licensing::lrm::{self, HostTerms};
use licensing::{Access, ApiError, ApiResult, App, Reply, Request};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    products: Vec<ProductQuantity>,
    #[serde(default)]
    start_date: Option<i64>,
    #[serde(default)]
    end_date: Option<i64>,
    #[serde(default)]
    grace_period: Option<i64>,
    #[serde(default)]
    subscription_plan: Option<String>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let host = req.path("hostAccountId")?;
    if host != req.principal_id() {
        return Err(ApiError::new(404, "HOST_LICENSE_NOT_FOUND", "no such host"));
    }
    let body: Body = req.json()?;
    if body.grace_period.is_some_and(|g| g < 0) {
        return Err(ApiError::validation("gracePeriod", "must not be negative"));
    }
    let terms = HostTerms {
        products: quantities("products", &body.products)?,
        start_date: body.start_date,
        end_date: body.end_date,
        grace_period: body.grace_period,
        subscription_plan: body.subscription_plan,
    };
    let actor = req.principal().map(ToString::to_string).unwrap_or_default();
    let license = lrm::set_host_license(app, &host, terms, &actor, "PUT /lrm/api/host/{hostAccountId}/license").await?;
    Reply::ok(&lrm::host_view(&license))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Host, handle).await
}
