//! GET /customer-portal/credit-entitlements/{id}/ledger?page_size=&page_number=&cursor=
use crate::openapi::{CreditLedgerEntryList, Cursor, NotFound, PageSize, QueryInvalid};
use licensing::services::portal;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Portal;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/customer-portal/credit-entitlements/{id}/ledger",
    operation_id = "listCustomerPortalCreditLedger",
    summary = "The ledger of one of the customer's balances",
    tag = "Customer portal",
    params(
        ("id" = String, Path, max_length = 255, description = "The credit entitlement."),
        PageSize,
        (
            "page_number" = Option<u64>,
            Query,
            description = "The page, from 0 (as Dodo's portal front end counts), of `page_size` entries."
        ),
        Cursor,
    ),
    responses(
        (status = 200, description = "One page.", body = CreditLedgerEntryList),
        (status = 404, description = "The customer holds no balance of it (`NOT_FOUND`).", body = inline(NotFound)),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let page = (req.query("page_size"), req.query("page_number"), req.query("cursor"));
    portal::ledger(app, req.call(), &req.path("id")?, page).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
