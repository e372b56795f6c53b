//! PUT /lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType} (POST too, as seed 002's curl sends it)
use crate::openapi::{AccountLicenseExceeded, AccountLicenseNotFound, LrmIdSegment, ServiceTypeSegment};
use licensing::services::allocation::{self, TenantRequest};
use licensing::wire::lrm::{ServiceAllocation, ServiceLicense};
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Host;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

const SUMMARY: &str = "Allocate (replace) a tenant service's quantities out of the organization license";

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi); the POST's operation is
/// the PUT's, with `Post` after its id and the summary `x-post` gives.
#[utoipa::path(
    method(put, post),
    path = "/lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType}",
    operation_id = "allocateServiceLicense",
    summary = SUMMARY,
    tag = "Service licenses",
    description = "Host API keys only (for their organizations).",
    params(
        ("accountId" = PathSegment, Path),
        ("serviceScopeId" = inline(LrmIdSegment), Path),
        ("serviceType" = inline(ServiceTypeSegment), Path),
    ),
    request_body = ServiceAllocation,
    responses(
        (status = 200, description = "The service license.", body = ServiceLicense),
        (
            status = 404,
            description = "The account has no license under the caller (`ACCOUNT_LICENSE_NOT_FOUND`). `NOT_FOUND`: \
                           an id in the path longer than any id can be.",
            body = inline(AccountLicenseNotFound),
        ),
        (
            status = 409,
            description = "`ALLOCATION_EXCEEDS_ACCOUNT_LICENSE`: the organization does not hold that much. \
                           `IDEMPOTENCY_KEY_IN_USE`: a request with this Idempotency-Key is still running.",
            body = inline(AccountLicenseExceeded),
        ),
    ),
    extensions(("x-post" = json!({"summary": format!("{SUMMARY} (POST, as seed 002 sends it; same as PUT)")}))),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (tenant_name, products) = req.json::<ServiceAllocation>()?.checked()?;
    let request = TenantRequest {
        scope: req.path("serviceScopeId")?,
        service_type: req.path("serviceType")?,
        tenant_name,
        products,
    };
    allocation::allocate_tenant(app, req.call(), &req.path("accountId")?, request).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
