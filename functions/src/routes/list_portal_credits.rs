//! GET /customer-portal/credit-entitlements: the customer's credit balances.
use licensing::services::portal;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Portal;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/customer-portal/credit-entitlements",
    operation_id = "listCustomerPortalCredits",
    summary = "The customer's credit balances",
    tag = "Customer portal",
    responses((status = 200, description = "Every balance of the customer.", body = crate::openapi::CustomerCreditEntitlementList)),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    portal::credit_entitlements(app, req.call()).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
