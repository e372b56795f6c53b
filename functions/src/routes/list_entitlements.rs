//! GET /entitlements?integration_type=&page_size=&page_number=&cursor=
use crate::openapi::{Cursor, EntitlementList, PageNumber, PageSize, QueryInvalid};
use licensing::domain::entitlement::IntegrationType;
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
    params(("integration_type" = Option<IntegrationType>, Query), PageSize, PageNumber, Cursor),
    responses(
        (status = 200, description = "One page.", body = EntitlementList),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    entitlements::list(app, req.call(), req.query("integration_type"), &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
