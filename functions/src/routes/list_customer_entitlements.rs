//! GET /customers/{customer_id}/entitlements: what the customer is entitled to now.
use crate::openapi::{CustomerEntitlementList, PathIdNotFound};
use licensing::services::grants;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/customers/{customer_id}/entitlements",
    operation_id = "listCustomerEntitlements",
    summary = "What a customer is entitled to now, newest first",
    tag = "Grants",
    description = "One row per grant of this customer in the caller's business that is not Revoked, with its \
                   entitlement's name and description, as the Dodo SDK's `customers.list_entitlements` reads it. \
                   Not paged; at most 1000 rows.",
    params(("customer_id" = PathSegment, Path)),
    responses(
        (
            status = 200,
            description = "The customer's entitlements (`{\"items\": []}` for an unknown customer).",
            body = CustomerEntitlementList,
        ),
        (status = 404, response = PathIdNotFound),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    grants::entitlements_of_customer(app, req.call(), &req.path("customer_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
