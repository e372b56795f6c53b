//! PATCH /license_key_instances/{id}: rename.
use crate::openapi::NotFound;
use licensing::domain::license_key::Instance;
use licensing::services::license_keys;
use licensing::wire::dodo::InstanceRename;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    patch,
    path = "/license_key_instances/{id}",
    operation_id = "renameLicenseKeyInstance",
    summary = "Rename an activation",
    tag = "License key instances",
    params(("id" = PathSegment, Path)),
    request_body = InstanceRename,
    responses(
        (status = 200, description = "The renamed instance.", body = Instance),
        (
            status = 404,
            description = "No instance with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: InstanceRename = req.json()?;
    license_keys::rename_instance(app, req.call(), &req.path("id")?, &body.name).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
