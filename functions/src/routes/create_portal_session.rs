//! POST /customers/{customer_id}/customer-portal/session?return_url=&send_email=
use crate::openapi::{NotFound, QueryInvalid};
use licensing::services::portal;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/customers/{customer_id}/customer-portal/session",
    operation_id = "createCustomerPortalSession",
    summary = "A link to the customer portal for one customer",
    tag = "Customer portal",
    description = "A link that opens the portal for this customer of the caller, valid 24 hours; the link's token \
                   also works as `Authorization: Bearer` on the portal's JSON routes. Each call makes a new link \
                   (an Idempotency-Key is not kept: the link is a secret, and a repeat only makes another).",
    params(
        ("customer_id" = String, Path, max_length = 255, description = "The customer."),
        (
            "return_url" = Option<String>,
            Query,
            max_length = 2048,
            description = "An absolute http(s) URL the portal's \"Go back\" button leads to."
        ),
        (
            "send_email" = Option<bool>,
            Query,
            description = "Also email the link to the customer's latest email (through SES)."
        ),
    ),
    responses(
        (status = 200, description = "The link.", body = licensing::wire::portal::PortalLink),
        (
            status = 404,
            description = "The customer holds nothing of the caller's (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let site = req.site();
    let customer_id = req.path("customer_id")?;
    let (return_url, send_email) = (req.query("return_url"), req.query("send_email"));
    portal::create_session(app, req.call(), &customer_id, return_url, send_email, &site).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_unkept(ACCESS, ERRORS, handle).await
}
