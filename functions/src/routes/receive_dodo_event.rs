//! POST /inbound/dodo/{business_id}
use crate::openapi::{PathIdNotFound, Unverified};
use licensing::services::provider_events::{self, Delivery};
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Signed;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 413 and 503, and a write's 422 or 400, follow from `ACCESS` and
/// `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/inbound/dodo/{business_id}",
    operation_id = "receiveDodoEvent",
    summary = "Receive one of Dodo's events (signed per Standard Webhooks)",
    description = "Where Dodo delivers the business's payment, refund and subscription events \
        (`PUT /payment-providers/dodo` answers this URL). Verified with the business's \
        webhook secret before anything is read; grants then follow the event. \
        An event's `webhook-id` takes effect once, however often it arrives; a \
        subscription's older event arriving after a newer one changes nothing.",
    tag = "Payment providers",
    params(
        ("business_id" = PathSegment, Path),
        ("webhook-id" = String, Header, description = "The event's id."),
        ("webhook-timestamp" = String, Header, description = "Unix seconds; at most 5 minutes from now."),
        (
            "webhook-signature" = String,
            Header,
            description = "Space-separated `v1,<base64 HMAC-SHA256>` signatures; any one verifies."
        ),
    ),
    request_body(content = Object, description = "The event: `{business_id, type, timestamp, data}`."),
    responses(
        (status = 204, description = "Applied (or known already, or needing no change)."),
        (status = 401, response = Unverified),
        (status = 404, response = PathIdNotFound),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let business_id = req.path("business_id")?;
    let delivery = Delivery {
        id: req.header("webhook-id"),
        timestamp: req.header("webhook-timestamp"),
        signature: req.header("webhook-signature"),
        body: req.body_bytes(),
    };
    provider_events::receive(app, &business_id, delivery).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
