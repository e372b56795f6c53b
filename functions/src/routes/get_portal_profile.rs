//! GET /customer-portal/profile: the customer the portal is open for.
use licensing::services::portal;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Portal;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/customer-portal/profile",
    operation_id = "getCustomerPortalProfile",
    summary = "The customer the portal is open for",
    tag = "Customer portal",
    responses((status = 200, description = "The customer.", body = licensing::wire::portal::PortalProfile)),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    portal::profile(app, req.call()).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
