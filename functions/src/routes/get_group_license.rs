//! GET /lease_/api/account/{accountId}/user-license/group/{groupId}
use crate::openapi::GroupLicenseNotFound;
use licensing::services::allocation;
use licensing::wire::lrm::GroupLicense;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Organization;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/lease_/api/account/{accountId}/user-license/group/{groupId}",
    operation_id = "getGroupLicense",
    summary = "Get a group's license rule",
    tag = "User licenses",
    description = "Organization API keys only, for their own account.",
    params(("accountId" = PathSegment, Path), ("groupId" = PathSegment, Path)),
    responses(
        (status = 200, description = "The group's rule.", body = GroupLicense),
        (
            status = 404,
            description = "The account is not the caller's or has no license (`ACCOUNT_LICENSE_NOT_FOUND`), or the \
                           group has no rule (`GROUP_LICENSE_NOT_FOUND`). `NOT_FOUND`: an id in the path longer than \
                           any id can be.",
            body = inline(GroupLicenseNotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (account, group) = (req.path("accountId")?, req.path("groupId")?);
    allocation::get_group_rule(app, req.call(), &account, &group).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
