//! GET /credit-entitlements/{credit_entitlement_id}/balances?customer_id=&page_size=&page_number=&cursor=
use crate::openapi::{CreditBalanceList, Cursor, NotFound, PageNumber, PageSize, QueryInvalid};
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/credit-entitlements/{credit_entitlement_id}/balances",
    operation_id = "listCreditBalances",
    summary = "List the customers' balances of a credit entitlement, by customer id",
    tag = "Credit entitlements",
    params(
        ("credit_entitlement_id" = PathSegment, Path),
        ("customer_id" = Option<String>, Query, max_length = 255, description = "Only this customer's balance."),
        PageSize,
        PageNumber,
        Cursor,
    ),
    responses(
        (status = 200, description = "One page.", body = CreditBalanceList),
        (
            status = 404,
            description = "No active credit entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let entitlement_id = req.path("credit_entitlement_id")?;
    credits::list_balances(app, req.call(), &entitlement_id, req.query("customer_id"), &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
