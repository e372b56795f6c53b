//! GET /customer-portal/license-key-instances?grant_id=
use crate::openapi::{NotFound, QueryInvalid};
use licensing::services::portal;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Portal;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/customer-portal/license-key-instances",
    operation_id = "listCustomerPortalDevices",
    summary = "The devices of one of the customer's keys",
    tag = "Customer portal",
    params(
        ("grant_id" = String, Query, max_length = 255, description = "The grant whose key's devices to list."),
        ("page_size" = Option<u32>, Query, description = "Accepted as Dodo's portal sends it; a key's live devices (at most 100) come in one page."),
    ),
    responses(
        (status = 200, description = "The key's live devices (empty when the grant has no key).", body = licensing::wire::portal::PortalInstanceList),
        (status = 404, description = "No such grant of the customer (`NOT_FOUND`).", body = inline(NotFound)),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    portal::instances(app, req.call(), req.query("grant_id")).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
