//! GET /credit-entitlements?deleted=&locale=&page_size=&page_number=&cursor=
use crate::openapi::{CreditEntitlementList, Cursor, PageNumber, PageSize, QueryInvalid};
use licensing::domain::translation::Locale;
use licensing::services::credits;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/credit-entitlements",
    operation_id = "listCreditEntitlements",
    summary = "List the caller's credit entitlements, newest first",
    tag = "Credit entitlements",
    params(
        ("deleted" = Option<bool>, Query, description = "`true`: the deleted ones instead of the active ones."),
        (
            "locale" = Option<Locale>,
            Query,
            description = "Shows each name and unit translated in this locale, over its base text. A code outside \
                           the list: 422.",
        ),
        PageSize,
        PageNumber,
        Cursor,
    ),
    responses(
        (status = 200, description = "One page.", body = CreditEntitlementList),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    credits::list(app, req.call(), req.query("deleted"), req.query("locale"), &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
