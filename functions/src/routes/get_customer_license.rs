//! GET /appsmarket/v2/customerLicense/{applicationId}/{customerId}: is this customer licensed for this application?
use licensing::services::license_status;
use licensing::wire::appsmarket::CustomerLicense;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Google;

/// The 401, 403, 413 and 503, and the 404's body, follow from `ACCESS` and
/// `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/appsmarket/v2/customerLicense/{applicationId}/{customerId}",
    operation_id = "getCustomerLicense",
    summary = "Is this customer licensed for this application (entitlement)?",
    tag = "License status",
    description = "Business API keys only. Errors use Google's form.",
    params(
        ("applicationId" = PathSegment, Path, description = "An entitlement id of the caller (deleted ones included)."),
        ("customerId" = PathSegment, Path),
    ),
    responses(
        (
            status = 200,
            description = "The customer's license: ACTIVE when a Delivered grant of the entitlement has no key or an active one.",
            body = CustomerLicense,
        ),
        (status = 404, description = "No entitlement with this id belongs to the caller."),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (application, customer) = (req.path("applicationId")?, req.path("customerId")?);
    license_status::customer_license(app, req.call(), &application, &customer).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
