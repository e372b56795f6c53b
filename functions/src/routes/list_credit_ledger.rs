//! GET /credit-entitlements/{credit_entitlement_id}/balances/{customer_id}/ledger?transaction_type=&start_date=&end_date=&page_size=&page_number=&cursor=
use crate::openapi::{CreditLedgerEntryList, Cursor, NotFound, PageNumber, PageSize, QueryInvalid};
use licensing::domain::credit::TransactionType;
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/credit-entitlements/{credit_entitlement_id}/balances/{customer_id}/ledger",
    operation_id = "listCreditLedger",
    summary = "List a customer's ledger entries in the order they were made",
    tag = "Credit entitlements",
    params(
        ("credit_entitlement_id" = PathSegment, Path),
        ("customer_id" = PathSegment, Path),
        ("transaction_type" = Option<TransactionType>, Query, description = "Only entries of this type."),
        ("start_date" = Option<String>, Query, format = DateTime, description = "Only entries made at or after this time."),
        ("end_date" = Option<String>, Query, format = DateTime, description = "Only entries made at or before this time."),
        PageSize,
        PageNumber,
        Cursor,
    ),
    responses(
        (status = 200, description = "One page.", body = CreditLedgerEntryList),
        (
            status = 404,
            description = "No active credit entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (entitlement_id, customer_id) = (req.path("credit_entitlement_id")?, req.path("customer_id")?);
    let filter = (req.query("transaction_type"), req.query("start_date"), req.query("end_date"));
    credits::list_ledger(app, req.call(), &entitlement_id, &customer_id, filter, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
