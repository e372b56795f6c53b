//! GET /webhooks?limit=&iterator=
use crate::openapi::{Iterator, Limit, QueryInvalid, WebhookList};
use licensing::services::webhooks;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/webhooks",
    operation_id = "listWebhooks",
    summary = "List the caller's webhook endpoints, newest first",
    tag = "Webhooks",
    params(Limit, Iterator),
    responses(
        (status = 200, description = "One page.", body = WebhookList),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    webhooks::list(app, req.call(), &req.limit_page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
