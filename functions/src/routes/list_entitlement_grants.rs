//! GET /entitlements/{entitlement_id}/grants?customer_id=&status=&page_size=&page_number=&cursor=
use crate::openapi::{GrantStatusFilter, Cursor, GrantList, NotFound, PageNumber, PageSize, QueryInvalid};
use licensing::services::grants;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/entitlements/{entitlement_id}/grants",
    operation_id = "listEntitlementGrants",
    summary = "List an entitlement's grants, newest first",
    tag = "Grants",
    description = "Also works for a deleted entitlement, whose grants stay.",
    params(
        ("entitlement_id" = PathSegment, Path),
        ("customer_id" = Option<String>, Query, max_length = 255, description = "Only this customer's grants."),
        (
            "status" = inline(Option<GrantStatusFilter>),
            Query,
            description = "Pending, Delivered, Failed or Revoked, in any letter case.",
        ),
        PageSize,
        PageNumber,
        Cursor,
    ),
    responses(
        (status = 200, description = "One page.", body = GrantList),
        (
            status = 404,
            description = "No entitlement (active or deleted) with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let entitlement_id = req.path("entitlement_id")?;
    let (customer_id, status) = (req.query("customer_id"), req.query("status"));
    grants::list_of_entitlement(app, req.call(), &entitlement_id, customer_id, status, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
