//! GET /license_key_instances/{id}
use crate::openapi::NotFound;
use licensing::domain::license_key::Instance;
use licensing::services::license_keys;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/license_key_instances/{id}",
    operation_id = "getLicenseKeyInstance",
    summary = "Get an activation",
    tag = "License key instances",
    params(("id" = PathSegment, Path)),
    responses(
        (status = 200, description = "The instance.", body = Instance),
        (
            status = 404,
            description = "No instance with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    license_keys::get_instance(app, req.call(), &req.path("id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
