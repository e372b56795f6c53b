//! GET /customer-portal/session/{token}: the emailed link, traded for a session cookie.
use licensing::services::portal;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::PortalPage;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// A page route: its errors are pages (`portal_page::error`).
#[utoipa::path(
    get,
    path = "/customer-portal/session/{token}",
    operation_id = "openCustomerPortalSession",
    summary = "Open the customer portal from its link",
    tag = "Customer portal",
    description = "Sets the `portal_session` cookie (`HttpOnly`, `SameSite=Lax`, `Secure` over HTTPS, the portal's \
                   path) and sends the browser on to the portal, so the URL no longer carries the token.",
    params(("token" = String, Path, max_length = 255, description = "The link's token.")),
    security(()),
    responses(
        (status = 303, description = "On to `/customer-portal`, with the session cookie."),
        (status = 401, description = "The link is unknown or expired: a page that says so.", content_type = "text/html", body = String),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    portal::open_session(app, req.call(), &req.site()).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
