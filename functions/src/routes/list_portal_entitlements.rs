//! GET /customer-portal/entitlements: the customer's grants.
use licensing::services::portal;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Portal;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/customer-portal/entitlements",
    operation_id = "listCustomerPortalEntitlements",
    summary = "The customer's grants, newest first",
    tag = "Customer portal",
    responses((status = 200, description = "Every grant of the customer.", body = licensing::wire::portal::PortalGrantList)),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    portal::entitlements(app, req.call()).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
