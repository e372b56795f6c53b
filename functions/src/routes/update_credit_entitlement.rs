//! PATCH /credit-entitlements/{credit_entitlement_id}
use crate::openapi::NotFound;
use licensing::domain::credit::{CreditEntitlement, CreditEntitlementPatch};
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    patch,
    path = "/credit-entitlements/{credit_entitlement_id}",
    operation_id = "updateCreditEntitlement",
    summary = "Change a credit entitlement (its precision is fixed)",
    tag = "Credit entitlements",
    params(("credit_entitlement_id" = PathSegment, Path)),
    request_body = CreditEntitlementPatch,
    responses(
        (status = 200, description = "The credit entitlement as changed.", body = CreditEntitlement),
        (
            status = 404,
            description = "No active credit entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    credits::update(app, req.call(), &req.path("credit_entitlement_id")?, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
