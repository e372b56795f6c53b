//! PUT /credit-entitlements/{credit_entitlement_id}/translations/{locale}: create or replace one locale's translation.
use crate::openapi::NotFound;
use licensing::domain::credit::{CreditEntitlementTranslation, CreditTranslationInput};
use licensing::domain::translation::Locale;
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    put,
    path = "/credit-entitlements/{credit_entitlement_id}/translations/{locale}",
    operation_id = "putCreditEntitlementTranslation",
    summary = "Create or replace the translation of one locale",
    description = "The whole translation (name, unit) is replaced: a field left out or null has no \
                   translation, and a read in this locale shows its base text. A locale outside the list: 422.",
    tag = "Credit entitlements",
    params(("credit_entitlement_id" = PathSegment, Path), ("locale" = Locale, Path)),
    request_body = Option<CreditTranslationInput>,
    responses(
        (status = 200, description = "The translation, replaced.", body = CreditEntitlementTranslation),
        (status = 201, description = "The translation, new.", body = CreditEntitlementTranslation),
        (
            status = 404,
            description = "No active credit entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (credit_entitlement_id, locale) = (req.path("credit_entitlement_id")?, req.path("locale")?);
    credits::put_translation(app, req.call(), &credit_entitlement_id, &locale, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
