//! GET /license_keys/{id}
use crate::openapi::NotFound;
use licensing::domain::license_key::LicenseKey;
use licensing::services::license_keys;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/license_keys/{id}",
    operation_id = "getLicenseKey",
    summary = "Get a license key",
    tag = "License keys",
    params(("id" = PathSegment, Path)),
    responses(
        (status = 200, description = "The key.", body = LicenseKey),
        (
            status = 404,
            description = "No license key with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    license_keys::get(app, req.call(), &req.path("id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
