//! GET /webhooks/{webhook_id}/headers: sensitive values left out
use crate::openapi::NotFound;
use licensing::services::webhooks;
use licensing::wire::dodo::WebhookHeadersView;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/webhooks/{webhook_id}/headers",
    operation_id = "getWebhookHeaders",
    summary = "Get a webhook endpoint's own headers",
    tag = "Webhooks",
    params(("webhook_id" = PathSegment, Path)),
    responses(
        (
            status = 200,
            description = "The headers sent with every delivery, sensitive ones by name only.",
            body = WebhookHeadersView<'static>,
        ),
        (
            status = 404,
            description = "No webhook endpoint with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    webhooks::headers(app, req.call(), &req.path("webhook_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
