//! GET /customer-portal/entitlements/{grant_id}/download?file_id=
use crate::openapi::{NotFound, QueryInvalid};
use licensing::services::portal;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Portal;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/customer-portal/entitlements/{grant_id}/download",
    operation_id = "downloadCustomerPortalFiles",
    summary = "A grant's files, with fresh download URLs",
    tag = "Customer portal",
    params(
        ("grant_id" = String, Path, max_length = 255, description = "One of the customer's digital_files grants."),
        (
            "file_id" = Option<String>,
            Query,
            max_length = 255,
            description = "Answer `303` to this file's fresh URL instead (the page's download links)."
        ),
    ),
    responses(
        (status = 200, description = "The files, the link and the instructions.", body = licensing::wire::portal::PortalDownload),
        (status = 303, description = "With `file_id`: on to the file's fresh URL."),
        (
            status = 404,
            description = "No such grant of the customer, nothing delivered to download, or no such file (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    portal::download(app, req.call(), &req.path("grant_id")?, req.query("file_id")).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
