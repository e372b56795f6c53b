//! POST /entitlements/{entitlement_id}/files/uploads/{file_id}/complete: attach a presigned upload's file.
use crate::openapi::{NotFound, UploadConflict};
use licensing::domain::digital_files::FileRef;
use licensing::services::digital_files;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/entitlements/{entitlement_id}/files/uploads/{file_id}/complete",
    operation_id = "completeFileUpload",
    summary = "Attach the file of a presigned upload",
    description = "Once S3 holds the declared bytes the file joins the entitlement's `digital_file_ids`; \
                   completing it again answers the same.",
    tag = "Entitlements",
    params(("entitlement_id" = PathSegment, Path), ("file_id" = PathSegment, Path)),
    responses(
        (status = 200, description = "The file, attached.", body = FileRef),
        (
            status = 404,
            description = "No active entitlement with this id belongs to the caller, or no upload or file has this \
                           id (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (
            status = 409,
            description = "S3 holds nothing for it yet (`UPLOAD_NOT_RECEIVED`), or not the declared size \
                           (`UPLOAD_SIZE_MISMATCH`); or the entitlement is not a digital_files one.",
            body = inline(UploadConflict),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (entitlement_id, file_id) = (req.path("entitlement_id")?, req.path("file_id")?);
    digital_files::complete_upload(app, req.call(), &entitlement_id, &file_id).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
