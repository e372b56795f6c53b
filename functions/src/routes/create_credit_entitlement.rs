//! POST /credit-entitlements
use licensing::domain::credit::{CreditEntitlement, NewCreditEntitlement};
use licensing::services::credits;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/credit-entitlements",
    operation_id = "createCreditEntitlement",
    summary = "Create a credit entitlement",
    tag = "Credit entitlements",
    request_body = NewCreditEntitlement,
    responses((status = 201, description = "The new credit entitlement.", body = CreditEntitlement)),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    credits::create(app, req.call(), req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
