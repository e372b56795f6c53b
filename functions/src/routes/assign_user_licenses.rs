//! PUT /lease_/api/account/{accountId}/user-license: each listed user holds exactly these codes, all or nothing.
use crate::openapi::{AccountLicenseExceeded, AccountLicenseNotFound};
use licensing::domain::allocation::bundle_codes;
use licensing::services::allocation;
use licensing::wire::lrm::{UserLicense, UserLicenseAssignment};
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Organization;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    put,
    path = "/lease_/api/account/{accountId}/user-license",
    operation_id = "assignUserLicenses",
    summary = "Give each listed user exactly these bundle codes, all or nothing",
    tag = "User licenses",
    description = "Organization API keys only, for their own account.",
    params(("accountId" = PathSegment, Path)),
    request_body = UserLicenseAssignment,
    responses(
        (status = 200, description = "The users' licenses, in the order asked.", body = Vec<UserLicense>),
        (
            status = 404,
            description = "The account is not the caller's or has no license (`ACCOUNT_LICENSE_NOT_FOUND`). \
                           `NOT_FOUND`: an id in the path longer than any id can be.",
            body = inline(AccountLicenseNotFound),
        ),
        (
            status = 409,
            description = "`ALLOCATION_EXCEEDS_ACCOUNT_LICENSE`: the organization does not hold that much. \
                           `IDEMPOTENCY_KEY_IN_USE`: a request with this Idempotency-Key is still running.",
            body = inline(AccountLicenseExceeded),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: UserLicenseAssignment = req.json()?;
    let codes = bundle_codes("userBundleCodes", &body.user_bundle_codes)?;
    let (account, external) = (req.path("accountId")?, body.use_external_license);
    allocation::assign_users(app, req.call(), &account, &body.user_ids, &codes, external).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
