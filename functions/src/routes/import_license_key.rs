//! POST /license_keys: import a key for a customer, with no grant and no email.
use crate::openapi::{ImportConflict, KeyConflictsRateLimited, NotFound};
use licensing::domain::license_key::LicenseKey;
use licensing::services::license_keys;
use licensing::wire::dodo::LicenseKeyImport;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 422 and 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/license_keys",
    operation_id = "importLicenseKey",
    summary = "Import a license key for a customer (no grant, no email)",
    tag = "License keys",
    request_body = LicenseKeyImport,
    responses(
        (status = 201, description = "The imported key.", body = LicenseKey),
        (
            status = 404,
            description = "`product_id` names no active entitlement of the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (
            status = 409,
            description = "`LICENSE_KEY_ALREADY_EXISTS`: this key is already in use. `IDEMPOTENCY_KEY_IN_USE`: a \
                           request with this Idempotency-Key is still running.",
            body = inline(ImportConflict),
        ),
        (status = 429, response = KeyConflictsRateLimited),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    license_keys::import(app, req.call(), req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
