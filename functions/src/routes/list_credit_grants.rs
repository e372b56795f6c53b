//! GET /credit-entitlements/{credit_entitlement_id}/balances/{customer_id}/grants?status=&page_size=&page_number=&cursor=
use crate::openapi::{CreditGrantList, Cursor, NotFound, PageNumber, PageSize, QueryInvalid};
use licensing::domain::credit::GrantStatus;
use licensing::services::credits;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/credit-entitlements/{credit_entitlement_id}/balances/{customer_id}/grants",
    operation_id = "listCreditGrants",
    summary = "List a customer's credit grants, oldest first",
    tag = "Credit entitlements",
    params(
        ("credit_entitlement_id" = PathSegment, Path),
        ("customer_id" = PathSegment, Path),
        ("status" = Option<GrantStatus>, Query, description = "Only grants of this status; none: every grant."),
        PageSize,
        PageNumber,
        Cursor,
    ),
    responses(
        (status = 200, description = "One page.", body = CreditGrantList),
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
    let status = req.query("status");
    credits::list_grants(app, req.call(), &entitlement_id, &customer_id, status, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
