//! PATCH /license_keys/{id}: activations_limit, disabled, expires_at.
use crate::openapi::{KeyInUse, KeyPatchRejected, NotFound};
use licensing::domain::license_key::LicenseKey;
use licensing::services::license_keys;
use licensing::wire::dodo::LicenseKeyPatch;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key and 400, follow
/// from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    patch,
    path = "/license_keys/{id}",
    operation_id = "updateLicenseKey",
    summary = "Change a license key's limit, expiry or disabled flag",
    tag = "License keys",
    params(("id" = PathSegment, Path)),
    request_body = Option<LicenseKeyPatch>,
    responses(
        (status = 200, description = "The key as changed.", body = LicenseKey),
        (
            status = 404,
            description = "No license key with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (
            status = 409,
            description = "`IDEMPOTENCY_KEY_IN_USE`: a request with this Idempotency-Key is still running.",
            body = inline(KeyInUse),
        ),
        (
            status = 422,
            description = "`VALIDATION_ERROR`: the body does not fit (the message names the field). \
                           `ACTIVATION_LIMIT_LESS_THAN_CURRENT_AMOUNT`: `activations_limit` is below the key's live \
                           activations. `IDEMPOTENCY_KEY_REUSED`: the Idempotency-Key was used with another request.",
            body = inline(KeyPatchRejected),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    license_keys::update(app, req.call(), &req.path("id")?, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
