//! GET /lrm/api/host/{hostAccountId}/organizations?page_size=&cursor= (the host)
use crate::openapi::{Cursor, HostLicenseNotFound, HostOrganizationList, PageNumber, PageSize, QueryInvalid};
use licensing::services::allocation;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Host;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/lrm/api/host/{hostAccountId}/organizations",
    operation_id = "listHostOrganizations",
    summary = "List the host's organizations, by account id",
    tag = "Organization licenses",
    description = "Host API keys only. Each organization with what it holds of each code, what its tenant services \
                   and user seats take of it (`consumed`) and what it has left; ascending by `accountId`. Read from \
                   a secondary index, so an organization allocated a moment ago may be listed a moment later. A \
                   host with no organizations (or no license yet) gets an empty page.",
    params(
        (
            "hostAccountId" = PathSegment,
            Path,
            description = "Must be the calling host's own id (404 otherwise).",
        ),
        PageSize,
        PageNumber,
        Cursor,
    ),
    responses(
        (status = 200, description = "One page.", body = HostOrganizationList),
        (
            status = 404,
            description = "`hostAccountId` is not the caller's (`HOST_LICENSE_NOT_FOUND`). `NOT_FOUND`: an id in the \
                           path longer than any id can be.",
            body = inline(HostLicenseNotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    allocation::list_host_orgs(app, req.call(), &req.path("hostAccountId")?, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
