//! PUT /payment-providers/dodo
use licensing::domain::payment_provider::{ConnectionUpdate, ConnectionView, Provider};
use licensing::services::payment_providers;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    put,
    path = "/payment-providers/dodo",
    operation_id = "updatePaymentProvider",
    summary = "Connect the caller's Dodo account: the secret its webhooks are signed with",
    description = "At Dodo (Developer → Webhooks) add an endpoint whose URL is the answer's `webhook_url` \
        and send its signing secret here. A new secret replaces the old one, which keeps verifying for \
        24 hours; the secret is never answered.",
    tag = "Payment providers",
    request_body = ConnectionUpdate,
    responses((status = 200, description = "The connection, without its secret.", body = ConnectionView)),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    payment_providers::connect(app, req.call(), Provider::Dodo, req.base_url().as_deref(), req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
