//! GET /lrm/api/host/{hostAccountId}/license
use crate::openapi::HostLicenseNotFound;
use licensing::services::allocation;
use licensing::wire::lrm::HostLicenseView;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Host;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/lrm/api/host/{hostAccountId}/license",
    operation_id = "getHostLicense",
    summary = "Get the host's license",
    tag = "Host licenses",
    description = "Host API keys only.",
    params((
        "hostAccountId" = PathSegment,
        Path,
        description = "Must be the calling host's own id (404 otherwise).",
    )),
    responses(
        (status = 200, description = "The host license.", body = HostLicenseView),
        (
            status = 404,
            description = "`hostAccountId` is not the caller's, or the host has no license yet \
                           (`HOST_LICENSE_NOT_FOUND`). `NOT_FOUND`: an id in the path longer than any id can be.",
            body = inline(HostLicenseNotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    allocation::get_host_license(app, req.call(), &req.path("hostAccountId")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
