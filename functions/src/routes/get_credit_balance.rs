//! GET /credit-entitlements/{credit_entitlement_id}/balances/{customer_id}
use crate::openapi::NotFound;
use licensing::domain::credit::BalanceView;
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/credit-entitlements/{credit_entitlement_id}/balances/{customer_id}",
    operation_id = "getCreditBalance",
    summary = "Get a customer's balance of a credit entitlement",
    tag = "Credit entitlements",
    params(("credit_entitlement_id" = PathSegment, Path), ("customer_id" = PathSegment, Path)),
    responses(
        (status = 200, description = "The balance.", body = BalanceView),
        (
            status = 404,
            description = "No active credit entitlement with this id belongs to the caller, or the customer has no \
                           balance of it (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (entitlement_id, customer_id) = (req.path("credit_entitlement_id")?, req.path("customer_id")?);
    credits::balance(app, req.call(), &entitlement_id, &customer_id).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
