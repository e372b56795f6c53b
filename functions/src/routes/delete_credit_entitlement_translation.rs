//! DELETE /credit-entitlements/{credit_entitlement_id}/translations/{locale}
use crate::openapi::NotFound;
use licensing::domain::translation::Locale;
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    delete,
    path = "/credit-entitlements/{credit_entitlement_id}/translations/{locale}",
    operation_id = "deleteCreditEntitlementTranslation",
    summary = "Delete the translation of one locale",
    tag = "Credit entitlements",
    params(("credit_entitlement_id" = PathSegment, Path), ("locale" = Locale, Path)),
    responses(
        (status = 204, description = "Deleted: reads in this locale show the base text."),
        (
            status = 404,
            description = "No active credit entitlement with this id belongs to the caller, or it has no translation in \
                           this locale (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (credit_entitlement_id, locale) = (req.path("credit_entitlement_id")?, req.path("locale")?);
    credits::delete_translation(app, req.call(), &credit_entitlement_id, &locale).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
