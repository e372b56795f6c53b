//! PATCH /entitlements/{entitlement_id}
use crate::openapi::NotFound;
use licensing::domain::entitlement::{Entitlement, EntitlementPatch};
use licensing::services::entitlements;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    patch,
    path = "/entitlements/{entitlement_id}",
    operation_id = "updateEntitlement",
    summary = "Change an entitlement",
    tag = "Entitlements",
    params(("entitlement_id" = PathSegment, Path)),
    request_body = Option<EntitlementPatch>,
    responses(
        (status = 200, description = "The entitlement as changed.", body = Entitlement),
        (
            status = 404,
            description = "No active entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    entitlements::update(app, req.call(), &req.path("entitlement_id")?, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
