//! POST /grants/{grant_id}/license-key: fulfil a Pending manual license-key grant.
use crate::openapi::{FulfilConflict, KeyConflictsRateLimited, NotFound};
use licensing::domain::grant::Grant;
use licensing::domain::grant_requests::Fulfilment;
use licensing::services::grants;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/grants/{grant_id}/license-key",
    operation_id = "fulfilGrant",
    summary = "Fulfil a Pending manual license-key grant with a given key",
    tag = "Grants",
    params(("grant_id" = PathSegment, Path)),
    request_body = Fulfilment,
    responses(
        (
            status = 200,
            description = "The grant, now Delivered with the key attached; its email sent or queued.",
            body = Grant,
        ),
        (
            status = 404,
            description = "No grant with this id (or its entitlement) belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (
            status = 409,
            description = "`GRANT_NOT_LICENSE_KEY`: the grant is not for a license key. `NOT_MANUAL_FULFILLMENT`: \
                           the entitlement's keys are fulfilled automatically. `GRANT_NOT_PENDING`: the grant is not \
                           Pending. `LICENSE_KEY_ALREADY_ATTACHED`: the grant already has a license key. \
                           `LICENSE_KEY_ALREADY_EXISTS`: this key is already in use. `IDEMPOTENCY_KEY_IN_USE`: a \
                           request with this Idempotency-Key is still running.",
            body = inline(FulfilConflict),
        ),
        (status = 429, response = KeyConflictsRateLimited),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    grants::fulfil(app, req.call(), &req.path("grant_id")?, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
