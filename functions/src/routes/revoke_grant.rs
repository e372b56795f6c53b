//! DELETE /entitlements/{entitlement_id}/grants/{grant_id}: revoke; its license key is disabled.
use crate::openapi::{KeyInUse, NotFound};
use licensing::domain::grant::Grant;
use licensing::domain::grant_requests::Revocation;
use licensing::services::grants;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    delete,
    path = "/entitlements/{entitlement_id}/grants/{grant_id}",
    operation_id = "revokeGrant",
    summary = "Revoke a grant; its license key is disabled",
    tag = "Grants",
    params(("entitlement_id" = PathSegment, Path), ("grant_id" = PathSegment, Path)),
    request_body = Option<Revocation>,
    responses(
        (status = 200, description = "The revoked grant (unchanged when it was already Revoked).", body = Grant),
        (
            status = 404,
            description = "No grant with this id of this entitlement belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (
            status = 409,
            description = "`IDEMPOTENCY_KEY_IN_USE`: a request with this Idempotency-Key is still running.",
            body = inline(KeyInUse),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (entitlement_id, grant_id) = (req.path("entitlement_id")?, req.path("grant_id")?);
    let reason = req.json::<Revocation>()?.reason()?;
    grants::revoke(app, req.call(), &entitlement_id, &grant_id, &reason).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
