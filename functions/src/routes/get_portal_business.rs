//! GET /customer-portal/business: whose portal this is.
use licensing::services::portal;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Portal;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/customer-portal/business",
    operation_id = "getCustomerPortalBusiness",
    summary = "The business whose portal this is",
    tag = "Customer portal",
    responses((status = 200, description = "The business.", body = licensing::wire::portal::PortalBusiness)),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    portal::business(app, req.call()).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
