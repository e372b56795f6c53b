//! PUT /lease_/api/account/{accountId}/user-license/group/{groupId}: the group's license rule.
use crate::openapi::{AccountLicenseExceeded, AccountLicenseNotFound, LrmIdSegment};
use licensing::domain::allocation::{bundle_codes, GroupRule};
use licensing::services::allocation;
use licensing::wire::lrm::{GroupLicense, GroupLicenseBody};
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Organization;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    put,
    path = "/lease_/api/account/{accountId}/user-license/group/{groupId}",
    operation_id = "putGroupLicense",
    summary = "Set a group's license rule",
    tag = "User licenses",
    description = "Organization API keys only, for their own account.",
    params(("accountId" = PathSegment, Path), ("groupId" = inline(LrmIdSegment), Path)),
    request_body = GroupLicenseBody,
    responses(
        (status = 200, description = "The group's rule.", body = GroupLicense),
        (
            status = 404,
            description = "The account is not the caller's or has no license (`ACCOUNT_LICENSE_NOT_FOUND`). \
                           `NOT_FOUND`: an id in the path longer than any id can be.",
            body = inline(AccountLicenseNotFound),
        ),
        (
            status = 409,
            description = "`ALLOCATION_EXCEEDS_ACCOUNT_LICENSE`: the account holds none of a code. \
                           `IDEMPOTENCY_KEY_IN_USE`: a request with this Idempotency-Key is still running.",
            body = inline(AccountLicenseExceeded),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: GroupLicenseBody = req.json()?;
    let rule = GroupRule {
        account_id: req.path("accountId")?,
        group_id: req.path("groupId")?,
        user_bundle_codes: bundle_codes("userBundleCodes", &body.user_bundle_codes)?,
        use_external_license: body.use_external_license,
    };
    allocation::put_group_rule(app, req.call(), rule).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
