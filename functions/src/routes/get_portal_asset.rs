//! GET /customer-portal/assets/{name}: the portal's style sheet and script.
use crate::openapi::NotFound;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Published;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

#[utoipa::path(
    get,
    path = "/customer-portal/assets/{name}",
    operation_id = "getCustomerPortalAsset",
    summary = "The customer portal's style sheet or script (public)",
    tag = "Customer portal",
    params(("name" = String, Path, max_length = 255, description = "`portal.css` or `portal.js`.")),
    responses(
        (status = 200, description = "The file.", content_type = "text/css", body = String),
        (status = 404, description = "No such file (`NOT_FOUND`).", body = inline(NotFound)),
    ),
)]
async fn handle(_app: &'static App, req: Request) -> ApiResult<Reply> {
    licensing::portal_page::asset(&req.path("name")?)
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_files(handle).await
}
