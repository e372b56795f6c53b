//! POST /entitlements/{entitlement_id}/grants
use crate::openapi::{IssueConflict, NotFound};
use licensing::domain::grant::Grant;
use licensing::domain::grant_requests::NewGrant;
use licensing::services::grants;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/entitlements/{entitlement_id}/grants",
    operation_id = "issueGrant",
    summary = "Issue a grant of an entitlement to a customer",
    tag = "Grants",
    params(("entitlement_id" = PathSegment, Path)),
    request_body = NewGrant,
    responses(
        (
            status = 200,
            description = "The grant that already exists for this entitlement, customer and payment (or subscription).",
            body = Grant,
        ),
        (
            status = 201,
            description = "The new grant: Pending, or, for a `license_key` entitlement fulfilled automatically, \
                           Delivered with a generated key (its email sent or queued).",
            body = Grant,
        ),
        (
            status = 404,
            description = "No entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (
            status = 409,
            description = "`ENTITLEMENT_INACTIVE`: the entitlement has been deleted. `IDEMPOTENCY_KEY_IN_USE`: a \
                           request with this Idempotency-Key is still running.",
            body = inline(IssueConflict),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    grants::issue(app, req.call(), &req.path("entitlement_id")?, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
