//! POST /entitlements/{entitlement_id}/files/uploads: a presigned S3 upload of a file up to 500 MiB.
use crate::openapi::{NotDigitalFiles, NotFound};
use licensing::domain::digital_files::{UploadForm, UploadRequest};
use licensing::services::digital_files;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/entitlements/{entitlement_id}/files/uploads",
    operation_id = "startFileUpload",
    summary = "Start a presigned upload of a large file",
    description = "Answers an S3 form: POST `fields`, then the file as the part `file`, to `upload_url` within \
                   `expires_in` seconds. Its policy takes exactly `size` bytes of `content_type`. Then complete \
                   the upload to attach the file.",
    tag = "Entitlements",
    params(("entitlement_id" = PathSegment, Path)),
    request_body = UploadRequest,
    responses(
        (status = 201, description = "The form.", body = UploadForm),
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
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let entitlement_id = req.path("entitlement_id")?;
    digital_files::start_upload(app, req.call(), &entitlement_id, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
