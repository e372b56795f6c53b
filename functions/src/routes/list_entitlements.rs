//! GET /entitlements?integration_type=&locale=&page_size=&page_number=&cursor=
use crate::openapi::{Cursor, EntitlementList, PageNumber, PageSize, QueryInvalid};
use licensing::domain::entitlement::IntegrationType;
use licensing::domain::translation::Locale;
use licensing::services::entitlements;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/entitlements",
    operation_id = "listEntitlements",
    summary = "List the caller's active entitlements, newest first",
    tag = "Entitlements",
    params(
        ("integration_type" = Option<IntegrationType>, Query),
        (
            "locale" = Option<Locale>,
            Query,
            description = "Shows each entitlement's text translated in this locale, field by field over its base \
                           text. A code outside the list: 422.",
        ),
        PageSize,
        PageNumber,
        Cursor,
    ),
    responses(
        (status = 200, description = "One page.", body = EntitlementList),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (integration_type, locale) = (req.query("integration_type"), req.query("locale"));
    entitlements::list(app, req.call(), integration_type, locale, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
