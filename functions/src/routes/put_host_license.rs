//! PUT /lrm/api/host/{hostAccountId}/license: set (replace) the host's purchased license.
use crate::openapi::{HostLicenseBelowAllocated, HostLicenseNotFound};
use licensing::domain::allocation::quantities;
use licensing::services::allocation::{self, HostTerms};
use licensing::wire::lrm::{HostLicenseBody, HostLicenseView};
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Host;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    put,
    path = "/lrm/api/host/{hostAccountId}/license",
    operation_id = "putHostLicense",
    summary = "Set (replace) the host's purchased license",
    tag = "Host licenses",
    description = "Host API keys only.",
    params((
        "hostAccountId" = PathSegment,
        Path,
        description = "Must be the calling host's own id (404 otherwise).",
    )),
    request_body = HostLicenseBody,
    responses(
        (status = 200, description = "The host license.", body = HostLicenseView),
        (
            status = 404,
            description = "`hostAccountId` is not the caller's (`HOST_LICENSE_NOT_FOUND`); checked before the body. \
                           `NOT_FOUND`: an id in the path longer than any id can be.",
            body = inline(HostLicenseNotFound),
        ),
        (
            status = 409,
            description = "`HOST_LICENSE_BELOW_ALLOCATED`: organizations hold more of a code than the new quantity. \
                           `IDEMPOTENCY_KEY_IN_USE`: a request with this Idempotency-Key is still running.",
            body = inline(HostLicenseBelowAllocated),
        ),
    ),
)]
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
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
