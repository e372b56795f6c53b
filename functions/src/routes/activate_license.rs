//! POST /licenses/activate (public): one more activation of a key, within its
//! limit; a device (`fingerprint`) that activates again gets its instance back.
use crate::openapi::{ActivationRejected, InactiveKey, KeyNotFound};
use licensing::services::licenses;
use licensing::wire::dodo::{ActivatedInstance, Activation};
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Public;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// No API key (`security: []`), the public 429, 413 and 503, and a write's
/// Idempotency-Key, 409 and 400, follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/licenses/activate",
    operation_id = "activateLicense",
    summary = "Activate a license key (public)",
    tag = "Public license routes",
    request_body = Activation,
    responses(
        (
            status = 200,
            description = "The `fingerprint` already has a live instance on this key; that instance, unchanged (no \
                           second slot is taken).",
            body = ActivatedInstance,
        ),
        (
            status = 201,
            description = "The new instance. On a leased key it lives until `expires_at` unless a heartbeat extends \
                           it; at the limit, expired instances are reclaimed in the same transaction that creates it.",
            body = ActivatedInstance,
        ),
        (
            status = 403,
            description = "The key is disabled, revoked or expired (`INACTIVE_LICENSE_KEY`).",
            body = inline(InactiveKey),
        ),
        (
            status = 404,
            description = "No such license key (`LICENSE_KEY_NOT_FOUND`).",
            body = inline(KeyNotFound),
        ),
        (
            status = 422,
            description = "`VALIDATION_ERROR`: the body does not fit (the message names the field). \
                           `LICENSE_KEY_LIMIT_REACHED`: the key has no activations left. `IDEMPOTENCY_KEY_REUSED`: \
                           the Idempotency-Key was used with another request.",
            body = inline(ActivationRejected),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Activation = req.json()?;
    let fingerprint = body.fingerprint.as_ref();
    licenses::activate(app, req.call(), &body.license_key, &body.name, fingerprint).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
