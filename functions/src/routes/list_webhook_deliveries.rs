//! GET /webhooks/{webhook_id}/deliveries?limit=&iterator=: every event sent to the endpoint, with its attempts
use crate::openapi::{Iterator, Limit, NotFound, QueryInvalid, WebhookDeliveryList};
use licensing::services::webhooks;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/webhooks/{webhook_id}/deliveries",
    operation_id = "listWebhookDeliveries",
    summary = "List a webhook endpoint's deliveries, newest event first",
    tag = "Webhooks",
    params(("webhook_id" = PathSegment, Path), Limit, Iterator),
    responses(
        (status = 200, description = "One page.", body = WebhookDeliveryList),
        (
            status = 404,
            description = "No webhook endpoint with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    webhooks::deliveries(app, req.call(), &req.path("webhook_id")?, &req.limit_page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
