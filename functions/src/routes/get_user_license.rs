//! GET /lease_/api/account/{accountId}/user-license/{userId}
use crate::openapi::UserLicenseNotFound;
use licensing::services::allocation;
use licensing::wire::lrm::UserLicense;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Organization;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/lease_/api/account/{accountId}/user-license/{userId}",
    operation_id = "getUserLicense",
    summary = "Get a user's license",
    tag = "User licenses",
    description = "Organization API keys only, for their own account.",
    params(("accountId" = PathSegment, Path), ("userId" = PathSegment, Path)),
    responses(
        (status = 200, description = "The user's license.", body = UserLicense),
        (
            status = 404,
            description = "The account is not the caller's or has no license (`ACCOUNT_LICENSE_NOT_FOUND`), or the \
                           user holds no license (`USER_LICENSE_NOT_FOUND`). `NOT_FOUND`: an id in the path longer \
                           than any id can be.",
            body = inline(UserLicenseNotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (account, user) = (req.path("accountId")?, req.path("userId")?);
    allocation::get_user_seat(app, req.call(), &account, &user).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
