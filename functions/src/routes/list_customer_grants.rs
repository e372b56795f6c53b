//! GET /customers/{customer_id}/entitlement-grants?integration_type=&status=&page_size=&page_number=&cursor=
use crate::openapi::{GrantStatusFilter, Cursor, GrantList, PageNumber, PageSize, PathIdNotFound, QueryInvalid};
use licensing::domain::entitlement::IntegrationType;
use licensing::services::grants;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/customers/{customer_id}/entitlement-grants",
    operation_id = "listCustomerGrants",
    summary = "List a customer's grants, newest first",
    tag = "Grants",
    params(
        ("customer_id" = PathSegment, Path),
        ("integration_type" = Option<IntegrationType>, Query),
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
        (status = 200, description = "One page (empty for an unknown customer).", body = GrantList),
        (status = 404, response = PathIdNotFound),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let customer_id = req.path("customer_id")?;
    let (integration_type, status) = (req.query("integration_type"), req.query("status"));
    grants::list_of_customer(app, req.call(), &customer_id, integration_type, status, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
