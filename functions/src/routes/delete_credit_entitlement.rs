//! DELETE /credit-entitlements/{credit_entitlement_id}: soft; undelete brings it back.
use crate::openapi::NotFound;
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    delete,
    path = "/credit-entitlements/{credit_entitlement_id}",
    operation_id = "deleteCreditEntitlement",
    summary = "Delete a credit entitlement (soft: balances stay)",
    tag = "Credit entitlements",
    params(("credit_entitlement_id" = PathSegment, Path)),
    responses(
        (status = 204, description = "Deleted."),
        (
            status = 404,
            description = "No active credit entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    credits::delete(app, req.call(), &req.path("credit_entitlement_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
