//! GET /lrm/api/host/{hostAccountId}/organization/{organizationId}/license (the host, or that organization)
use crate::openapi::AccountLicenseNotFound;
use licensing::services::allocation;
use licensing::wire::lrm::OrganizationLicense;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::HostOrOrganization;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/lrm/api/host/{hostAccountId}/organization/{organizationId}/license",
    operation_id = "getOrganizationLicense",
    summary = "Get an organization's license",
    tag = "Organization licenses",
    description = "Host API keys (for their organizations) and organization API keys (for their own).",
    params(("hostAccountId" = PathSegment, Path), ("organizationId" = PathSegment, Path)),
    responses(
        (status = 200, description = "The organization license.", body = OrganizationLicense),
        (
            status = 404,
            description = "No license of this organization under this host is visible to the caller \
                           (`ACCOUNT_LICENSE_NOT_FOUND`). `NOT_FOUND`: an id in the path longer than any id can be.",
            body = inline(AccountLicenseNotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (host, organization) = (req.path("hostAccountId")?, req.path("organizationId")?);
    allocation::get_org_license(app, req.call(), &host, &organization).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
