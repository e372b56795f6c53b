//! POST /licenses/heartbeat (public): a leased instance lives one more lease.
use crate::openapi::{InactiveKey, LeasedInstance, LiveInstanceNotFound};
use licensing::services::licenses;
use licensing::wire::dodo::InstanceRef;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Public;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// Why heartbeat and checkout find no live instance to answer for.
pub const LIVE_INSTANCE_NOT_FOUND: &str = "No such license key (`LICENSE_KEY_NOT_FOUND`), the instance is not one \
    of its (`LICENSE_KEY_INSTANCE_NOT_FOUND`), or the instance's lease is already over (`INSTANCE_EXPIRED`; the \
    device activates again).";

/// No API key (`security: []`), the public 429, 413 and 503, and a write's
/// Idempotency-Key, 409, 422 and 400, follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/licenses/heartbeat",
    operation_id = "heartbeatLicense",
    summary = "Keep an instance of a leased key alive (public)",
    tag = "Public license routes",
    description = "Moves the instance's `expires_at` to now plus the key's `activation_lease_seconds`. On a key \
                   without a lease the instance is returned unchanged (`expires_at` null).",
    request_body = InstanceRef,
    responses(
        (status = 200, description = "The instance, with its new `expires_at`.", body = LeasedInstance),
        (
            status = 403,
            description = "The key is disabled, revoked or expired (`INACTIVE_LICENSE_KEY`).",
            body = inline(InactiveKey),
        ),
        (status = 404, description = LIVE_INSTANCE_NOT_FOUND, body = inline(LiveInstanceNotFound)),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: InstanceRef = req.json()?;
    licenses::heartbeat(app, req.call(), &body.license_key, &body.license_key_instance_id).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
