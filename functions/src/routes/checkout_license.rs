//! POST /licenses/checkout (public): an offline license (Ed25519 JWS) for a live instance.
use super::heartbeat_license::LIVE_INSTANCE_NOT_FOUND;
use crate::openapi::{InactiveKey, LiveInstanceNotFound};
use licensing::services::licenses;
use licensing::wire::dodo::{InstanceRef, OfflineLicense};
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Public;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// No API key (`security: []`), the public 429, 413 and 503, and a write's
/// Idempotency-Key, 409, 422 and 400, follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/licenses/checkout",
    operation_id = "checkoutLicense",
    summary = "Issue an offline license for an instance (public)",
    tag = "Public license routes",
    description = "A JWS in compact form, signed with Ed25519 (header `{\"alg\": \"EdDSA\", \"typ\": \"JWT\", \
                   \"kid\": ...}`), verifiable with the key of that `kid` in `/.well-known/jwks.json` and no further \
                   call. Claims: `iss` (the stack's `OfflineLicenseIssuer`, else `https://` and the host the request \
                   came to), `sub` (license key id), `aud` (product id, the entitlement id), `lki` (instance id), \
                   `fpr` (fingerprint or null), `iat`, `nbf` (= `iat`), `exp` (the earliest of the key's expiry, the \
                   instance's lease end, and now plus the entitlement's `offline_ttl_seconds`, default 604800), \
                   `limit` (activations limit or null), `ent` (entitlement name); dates in Unix seconds. Signed in \
                   AWS KMS: KMS out of reach is a 503.",
    request_body = InstanceRef,
    responses(
        (status = 201, description = "The offline license.", body = OfflineLicense),
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
    licenses::checkout(app, req.origin().as_deref(), &body.license_key, &body.license_key_instance_id).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
