//! GET /customers/{customer_id}/credit-entitlements
use crate::openapi::{CustomerCreditEntitlementList, PathIdNotFound};
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/customers/{customer_id}/credit-entitlements",
    operation_id = "listCustomerCreditEntitlements",
    summary = "List a customer's balances of the caller's active credit entitlements",
    tag = "Credit entitlements",
    params(("customer_id" = PathSegment, Path)),
    responses(
        (
            status = 200,
            description = "`{items}`, one per credit entitlement the customer has a balance of.",
            body = CustomerCreditEntitlementList,
        ),
        (status = 404, response = PathIdNotFound),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    credits::customer_balances(app, req.call(), &req.path("customer_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
