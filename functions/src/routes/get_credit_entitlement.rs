//! GET /credit-entitlements/{credit_entitlement_id}?locale=
use crate::openapi::{NotFound, QueryInvalid};
use licensing::domain::credit::CreditEntitlement;
use licensing::domain::translation::Locale;
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/credit-entitlements/{credit_entitlement_id}",
    operation_id = "getCreditEntitlement",
    summary = "Get a credit entitlement",
    tag = "Credit entitlements",
    params(
        ("credit_entitlement_id" = PathSegment, Path),
        (
            "locale" = Option<Locale>,
            Query,
            description = "Shows the name and unit translated in this locale, each falling back to its base text. \
                           A code outside the list: 422.",
        ),
    ),
    responses(
        (status = 200, description = "The credit entitlement.", body = CreditEntitlement),
        (status = 422, response = QueryInvalid),
        (
            status = 404,
            description = "No active credit entitlement with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    credits::get(app, req.call(), &req.path("credit_entitlement_id")?, req.query("locale")).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
