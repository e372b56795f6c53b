//! GET /appsmarket/v2/userLicense/{applicationId}/{userId}: does this user of the caller's account hold this bundle code?
use crate::openapi::GoogleNotFound;
use licensing::services::license_status;
use licensing::wire::appsmarket::UserLicenseStatus;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Organization;
pub const ERRORS: ErrorStyle = ErrorStyle::Google;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/appsmarket/v2/userLicense/{applicationId}/{userId}",
    operation_id = "getUserLicenseStatus",
    summary = "Does this user of the caller's account hold this bundle code?",
    tag = "License status",
    description = "Organization API keys only. Errors use Google's form. A held code is `ACTIVE` while the account \
                   license's `endDate` has not passed, or passed less than `gracePeriod` days ago; `EXPIRED` after that.",
    params(
        ("applicationId" = PathSegment, Path, description = "A bundle code."),
        ("userId" = PathSegment, Path),
    ),
    responses(
        (
            status = 200,
            description = "The user's license status (UNLICENSED for an unknown user or code).",
            body = UserLicenseStatus,
        ),
        (status = 404, response = GoogleNotFound),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (code, user) = (req.path("applicationId")?, req.path("userId")?);
    license_status::user_license(app, req.call(), &code, &user).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
