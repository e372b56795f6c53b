//! DELETE /lease_/api/account/{accountId}/user-license/{userId}: the user gives back every unit.
use crate::openapi::{KeyInUse, UserLicenseNotFound};
use licensing::services::allocation;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Organization;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key and 422, follow from
/// `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    delete,
    path = "/lease_/api/account/{accountId}/user-license/{userId}",
    operation_id = "releaseUserLicense",
    summary = "Give back every unit a user holds",
    tag = "User licenses",
    description = "Organization API keys only, for their own account.",
    params(("accountId" = PathSegment, Path), ("userId" = PathSegment, Path)),
    responses(
        (status = 204, description = "Released."),
        (
            status = 404,
            description = "The account is not the caller's or has no license (`ACCOUNT_LICENSE_NOT_FOUND`), or the \
                           user holds no license (`USER_LICENSE_NOT_FOUND`). `NOT_FOUND`: an id in the path longer \
                           than any id can be.",
            body = inline(UserLicenseNotFound),
        ),
        (
            status = 409,
            description = "`IDEMPOTENCY_KEY_IN_USE`: a request with this Idempotency-Key is still running.",
            body = inline(KeyInUse),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (account, user) = (req.path("accountId")?, req.path("userId")?);
    allocation::release_user(app, req.call(), &account, &user).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
