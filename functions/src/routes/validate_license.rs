//! POST /licenses/validate (public): `{valid, code}`, always 200.
use licensing::services::licenses;
use licensing::wire::dodo::{Validation, ValidationResult};
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Public;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// No API key (`security: []`), the public 429, 413 and 503, and a write's
/// Idempotency-Key, 409, 422 and 400, follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/licenses/validate",
    operation_id = "validateLicense",
    summary = "Validate a license key, optionally with an instance (public)",
    tag = "Public license routes",
    request_body = Validation,
    responses((
        status = 200,
        description = "The verdict, always 200 for a well-formed request; an unknown key is `NOT_FOUND` here, not a \
                       404. `code` is the first that holds of `NOT_FOUND` (the three objects null), `DISABLED`, \
                       `EXPIRED`, `INSTANCE_NOT_FOUND` (`instance` null), `INSTANCE_EXPIRED` (the instance's lease \
                       is over; `instance` shown), `FEATURES_MISSING` (the body's `features` name one the key's \
                       entitlement does not) and `VALID`.",
        body = ValidationResult,
    )),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Validation = req.json()?;
    licenses::validate(app, &body).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
