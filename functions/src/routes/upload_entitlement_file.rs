//! POST /entitlements/{entitlement_id}/files: one file (multipart/form-data), stored in S3 and attached.
use crate::openapi::{FileTooLarge, FileUpload, NotDigitalFiles, NotFound};
use licensing::domain::digital_files::FileRef;
use licensing::services::digital_files;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/entitlements/{entitlement_id}/files",
    operation_id = "uploadEntitlementFile",
    summary = "Upload a file to a digital_files entitlement",
    description = "The `file` part (up to 4 MiB; larger files through `POST .../files/uploads`) is stored in S3 and \
                   appended to the entitlement's `digital_file_ids`. No `file` part (as the Python SDK's \
                   `files.upload` sends no body): 422 naming `file`.",
    tag = "Entitlements",
    params(("entitlement_id" = PathSegment, Path)),
    request_body(content = FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The file, attached.", body = FileRef),
        (
            status = 404,
            description = "No active entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (
            status = 409,
            description = "The entitlement is not a digital_files one (`ENTITLEMENT_NOT_DIGITAL_FILES`).",
            body = inline(NotDigitalFiles),
        ),
        (status = 413, description = "The file is larger than 4 MiB (`FILE_TOO_LARGE`).", body = inline(FileTooLarge)),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let entitlement_id = req.path("entitlement_id")?;
    digital_files::upload(app, req.call(), &entitlement_id, req.header("content-type"), req.body_bytes()).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_upload(ACCESS, ERRORS, handle).await
}
