//! POST /grants/{grant_id}/resend-email: queue the key email again, 202.
use crate::openapi::{NotFound, ResendConflict, ResendTooSoon};
use licensing::domain::grant::Grant;
use licensing::services::grants;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, a write's Idempotency-Key and 422, and the 429's
/// Retry-After follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/grants/{grant_id}/resend-email",
    operation_id = "resendGrantEmail",
    summary = "Send the license-key email again",
    tag = "Grants",
    description = "Takes no body.",
    params(("grant_id" = PathSegment, Path)),
    responses(
        (status = 202, description = "The grant, Delivered again, with the email sent or queued.", body = Grant),
        (
            status = 404,
            description = "No grant with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (
            status = 409,
            description = "`GRANT_NOT_DELIVERED`: only a Delivered or Failed grant with a license key has an email \
                           to resend. `IDEMPOTENCY_KEY_IN_USE`: a request with this Idempotency-Key is still running.",
            body = inline(ResendConflict),
        ),
        (
            status = 429,
            description = "The key email was sent less than a minute ago (`RESEND_TOO_SOON`); try again after \
                           `Retry-After` seconds.",
            body = inline(ResendTooSoon),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    grants::resend_email(app, req.call(), &req.path("grant_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
