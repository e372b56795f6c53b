//! POST /credit-entitlements/{credit_entitlement_id}/balances/{customer_id}/ledger-entries
use crate::openapi::{CreditsInsufficient, LedgerEntryConflict, NotFound};
use licensing::domain::credit::{LedgerEntry, LedgerEntryRequest};
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/credit-entitlements/{credit_entitlement_id}/balances/{customer_id}/ledger-entries",
    operation_id = "createCreditLedgerEntry",
    summary = "Credit or debit a customer's balance",
    tag = "Credit entitlements",
    description = "A credit makes a grant; a debit takes from the oldest grants first. The balance never goes \
                   below zero: a debit it cannot cover is refused with nothing changed, unless overage is enabled \
                   and stays within its limit.",
    params(("credit_entitlement_id" = PathSegment, Path), ("customer_id" = PathSegment, Path)),
    request_body = LedgerEntryRequest,
    responses(
        (status = 201, description = "The ledger entry.", body = LedgerEntry),
        (
            status = 400,
            description = "The balance cannot cover the debit (`INSUFFICIENT_CREDITS`), or its overage would pass \
                           its limit (`OVERAGE_LIMIT_REACHED`); or the body is not JSON (`INVALID_JSON`). Nothing \
                           changed.",
            body = inline(CreditsInsufficient),
        ),
        (
            status = 404,
            description = "No active credit entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (
            status = 409,
            description = "An entry with this `idempotency_key` exists (`IDEMPOTENCY_KEY_ALREADY_USED`).",
            body = inline(LedgerEntryConflict),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (entitlement_id, customer_id) = (req.path("credit_entitlement_id")?, req.path("customer_id")?);
    credits::add_entry(app, req.call(), &entitlement_id, &customer_id, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with_entry_keys(ACCESS, ERRORS, handle).await
}
