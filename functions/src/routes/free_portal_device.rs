//! POST /customer-portal/license-key-instances/{id}/deactivate: the customer frees one of their devices.
use crate::openapi::PortalInstanceNotFound;
use licensing::services::portal;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Portal;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/customer-portal/license-key-instances/{id}/deactivate",
    operation_id = "freeCustomerPortalDevice",
    summary = "Free one of the customer's devices",
    tag = "Customer portal",
    description = "Deactivates the instance as `POST /licenses/deactivate` does, freeing its slot. The page's form \
                   (`application/x-www-form-urlencoded`) is answered `303` back to the page; with the session \
                   cookie, only from the portal's own origin.",
    params(("id" = String, Path, max_length = 255, description = "The instance (device).")),
    responses(
        (status = 200, description = "Freed; the body is `{}`.", body = licensing::wire::dodo::Empty),
        (status = 303, description = "The page's form: freed, on back to the page."),
        (
            status = 403,
            description = "Sent with the session cookie from another origin (`FORBIDDEN`).",
            body = inline(crate::openapi::CrossSite),
        ),
        (
            status = 404,
            description = "No such device of the customer's keys (`NOT_FOUND`), or it was freed meanwhile.",
            body = inline(PortalInstanceNotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let from_page = req
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let site = from_page.then(|| req.site());
    portal::deactivate(app, req.call(), &req.path("id")?, site.as_ref()).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
