//! PATCH /webhooks/{webhook_id}/headers: adds or changes the endpoint's own headers
use crate::openapi::NotFound;
use licensing::domain::webhook::HeadersUpdate;
use licensing::services::webhooks;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    patch,
    path = "/webhooks/{webhook_id}/headers",
    operation_id = "updateWebhookHeaders",
    summary = "Add or change a webhook endpoint's own headers",
    tag = "Webhooks",
    params(("webhook_id" = PathSegment, Path)),
    request_body = HeadersUpdate,
    responses(
        (status = 204, description = "Replaced."),
        (
            status = 404,
            description = "No webhook endpoint with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    webhooks::update_headers(app, req.call(), &req.path("webhook_id")?, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
