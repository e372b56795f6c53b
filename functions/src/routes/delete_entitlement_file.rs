//! DELETE /entitlements/{entitlement_id}/files/{file_id}: detach a file and delete its bytes.
use crate::openapi::{NotDigitalFiles, NotFound};
use licensing::services::digital_files;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    delete,
    path = "/entitlements/{entitlement_id}/files/{file_id}",
    operation_id = "deleteEntitlementFile",
    summary = "Delete a file of a digital_files entitlement",
    tag = "Entitlements",
    params(("entitlement_id" = PathSegment, Path), ("file_id" = PathSegment, Path)),
    responses(
        (status = 204, description = "Detached; grants no longer deliver it."),
        (
            status = 404,
            description = "No active entitlement with this id belongs to the caller, or it holds no such file \
                           (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (
            status = 409,
            description = "The entitlement is not a digital_files one (`ENTITLEMENT_NOT_DIGITAL_FILES`).",
            body = inline(NotDigitalFiles),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (entitlement_id, file_id) = (req.path("entitlement_id")?, req.path("file_id")?);
    digital_files::delete(app, req.call(), &entitlement_id, &file_id).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
