//! DELETE /webhooks/{webhook_id}
use crate::openapi::NotFound;
use licensing::services::webhooks;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    delete,
    path = "/webhooks/{webhook_id}",
    operation_id = "deleteWebhook",
    summary = "Delete a webhook endpoint; it gets no further deliveries",
    tag = "Webhooks",
    params(("webhook_id" = PathSegment, Path)),
    responses(
        (status = 204, description = "Deleted."),
        (
            status = 404,
            description = "No webhook endpoint with this id belongs to the caller (`NOT_FOUND`); also for one already \
                           deleted.",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    webhooks::delete(app, req.call(), &req.path("webhook_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
