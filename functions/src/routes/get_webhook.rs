//! GET /webhooks/{webhook_id}
use crate::openapi::NotFound;
use licensing::domain::webhook::EndpointDetails;
use licensing::services::webhooks;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/webhooks/{webhook_id}",
    operation_id = "getWebhook",
    summary = "Get a webhook endpoint",
    tag = "Webhooks",
    params(("webhook_id" = PathSegment, Path)),
    responses(
        (status = 200, description = "The endpoint.", body = EndpointDetails<'static>),
        (
            status = 404,
            description = "No webhook endpoint with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    webhooks::get(app, req.call(), &req.path("webhook_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
