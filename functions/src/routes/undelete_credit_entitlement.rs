//! POST /credit-entitlements/{credit_entitlement_id}/undelete
use crate::openapi::{NotDeleted, NotFound};
use licensing::domain::credit::CreditEntitlement;
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/credit-entitlements/{credit_entitlement_id}/undelete",
    operation_id = "undeleteCreditEntitlement",
    summary = "Bring back a deleted credit entitlement",
    tag = "Credit entitlements",
    params(("credit_entitlement_id" = PathSegment, Path)),
    responses(
        (status = 200, description = "The credit entitlement, active again.", body = CreditEntitlement),
        (
            status = 404,
            description = "No credit entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (status = 409, description = "It is not deleted (`NOT_DELETED`).", body = inline(NotDeleted)),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    credits::undelete(app, req.call(), &req.path("credit_entitlement_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
