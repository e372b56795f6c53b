//! GET /customer-portal: the customer portal's page.
use licensing::services::portal;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::PortalPage;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// A page route: its errors are pages (`portal_page::error`).
#[utoipa::path(
    get,
    path = "/customer-portal",
    operation_id = "getCustomerPortalPage",
    summary = "The customer portal (HTML)",
    tag = "Customer portal",
    description = "The customer's grants with their keys, each key's devices (each with a button that frees it), \
                   downloads, credit balances and their latest ledger entries, and a button back to the link's \
                   `return_url`. Needs the `portal_session` cookie that opening the link set.",
    params(("notice" = Option<String>, Query, max_length = 255, description = "`freed`: say that a device was freed.")),
    security(()),
    responses(
        (status = 200, description = "The page.", content_type = "text/html", body = String),
        (status = 401, description = "No live session: a page that says the link expired.", content_type = "text/html", body = String),
        (status = 422, description = "A query value past its bound: a page that says so.", content_type = "text/html", body = String),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    portal::page(app, req.call(), req.query("notice"), &req.site()).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
