//! GET /credit-entitlements/{credit_entitlement_id}/translations?locale=fr&locale=de
use crate::openapi::{NotFound, QueryInvalid};
use licensing::domain::credit::CreditEntitlementTranslationList;
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/credit-entitlements/{credit_entitlement_id}/translations",
    operation_id = "listCreditEntitlementTranslations",
    summary = "List a credit entitlement's translations",
    tag = "Credit entitlements",
    params(
        ("credit_entitlement_id" = PathSegment, Path),
        (
            "locale" = Option<Vec<String>>,
            Query,
            description = "Only these locales: repeated (`locale=fr&locale=de`) or comma-separated (`fr,de`); \
                           none for all. A code outside the list: 422.",
            style = Form,
            explode,
        ),
    ),
    responses(
        (status = 200, description = "The translations, in the order of the locale list.", body = CreditEntitlementTranslationList),
        (
            status = 404,
            description = "No active credit entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let credit_entitlement_id = req.path("credit_entitlement_id")?;
    credits::list_translations(app, req.call(), &credit_entitlement_id, req.query_all("locale")).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
