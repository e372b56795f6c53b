//! POST /webhooks
use crate::openapi::WebhookRejected;
use licensing::domain::webhook::{EndpointDetails, NewEndpoint};
use licensing::services::webhooks;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// Why a webhook URL or body is refused, as create and update answer it.
pub const REJECTED: &str = "`VALIDATION_ERROR`: the body does not fit (the message names the field). \
    `WEBHOOK_URL_NOT_ALLOWED`: `url` names a host that is `localhost` or an IP address in a private, loopback, \
    link-local, unspecified or multicast range, in any spelling (`2130706433`, `0x7f.1`, `[64:ff9b::a9fe:a9fe]`; \
    loopback is allowed when the service runs with `WEBHOOK_ALLOW_LOOPBACK=true`, as the local stack does). A URL \
    with a user name, a password or a backslash is a `VALIDATION_ERROR`. `IDEMPOTENCY_KEY_REUSED`: the \
    Idempotency-Key was used with another request.";

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/webhooks",
    operation_id = "createWebhook",
    summary = "Create a webhook endpoint",
    tag = "Webhooks",
    request_body = NewEndpoint,
    responses(
        (
            status = 201,
            description = "The new endpoint. Its signing secret is read with `GET /webhooks/{webhook_id}/secret`.",
            body = EndpointDetails<'static>,
        ),
        (status = 422, description = REJECTED, body = inline(WebhookRejected)),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    webhooks::create(app, req.call(), req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
