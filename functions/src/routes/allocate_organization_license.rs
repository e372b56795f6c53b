//! PUT /lrm/api/host/{hostAccountId}/organization/{organizationId}/license (POST too, as seed 001's curl sends it)
use crate::openapi::{LrmIdSegment, OrganizationAllocationConflict, OrganizationNotFound};
use licensing::domain::allocation::quantities;
use licensing::services::allocation;
use licensing::wire::lrm::{OrganizationAllocation, OrganizationLicense};
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Host;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

const SUMMARY: &str = "Allocate (replace) an organization's quantities out of the host license";

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi); the POST's operation is
/// the PUT's, with `Post` after its id and the summary `x-post` gives.
#[utoipa::path(
    method(put, post),
    path = "/lrm/api/host/{hostAccountId}/organization/{organizationId}/license",
    operation_id = "allocateOrganizationLicense",
    summary = SUMMARY,
    tag = "Organization licenses",
    description = "Host API keys only. The organization license takes the host license's dates each time.",
    params(
        (
            "hostAccountId" = PathSegment,
            Path,
            description = "Must be the calling host's own id (404 otherwise).",
        ),
        ("organizationId" = inline(LrmIdSegment), Path),
    ),
    request_body = OrganizationAllocation,
    responses(
        (status = 200, description = "The organization license.", body = OrganizationLicense),
        (
            status = 404,
            description = "`hostAccountId` is not the caller's or has no license (`HOST_LICENSE_NOT_FOUND`), or the \
                           organization belongs to another host (`ACCOUNT_LICENSE_NOT_FOUND`). `NOT_FOUND`: an id in \
                           the path longer than any id can be.",
            body = inline(OrganizationNotFound),
        ),
        (
            status = 409,
            description = "`ALLOCATION_BELOW_CONSUMED`: its tenant services and users already take more of a code. \
                           `ALLOCATION_EXCEEDS_HOST_LICENSE`: the host license does not hold that much. \
                           `IDEMPOTENCY_KEY_IN_USE`: a request with this Idempotency-Key is still running.",
            body = inline(OrganizationAllocationConflict),
        ),
    ),
    extensions(("x-post" = json!({"summary": format!("{SUMMARY} (POST, as seed 001 sends it; same as PUT)")}))),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (host, organization) = (req.path("hostAccountId")?, req.path("organizationId")?);
    let body: OrganizationAllocation = req.json()?;
    let wanted = quantities("productQuantities", &body.product_quantities)?;
    allocation::allocate_org(app, req.call(), &host, &organization, wanted).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
