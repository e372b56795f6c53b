//! GET /entitlements/{entitlement_id}/translations?locale=fr&locale=de
use crate::openapi::{NotFound, QueryInvalid};
use licensing::domain::translation::EntitlementTranslationList;
use licensing::services::translations;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/entitlements/{entitlement_id}/translations",
    operation_id = "listEntitlementTranslations",
    summary = "List an entitlement's translations",
    tag = "Entitlements",
    params(
        ("entitlement_id" = PathSegment, Path),
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
        (status = 200, description = "The translations, in the order of the locale list.", body = EntitlementTranslationList),
        (
            status = 404,
            description = "No active entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let entitlement_id = req.path("entitlement_id")?;
    translations::list(app, req.call(), &entitlement_id, req.query_all("locale")).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
