//! GET /lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType} (the host, or that organization)
use crate::openapi::ServiceLicenseNotFound;
use licensing::services::allocation;
use licensing::wire::lrm::ServiceLicense;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::HostOrOrganization;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType}",
    operation_id = "getServiceLicense",
    summary = "Get a tenant service's license",
    tag = "Service licenses",
    description = "Host API keys (for their organizations) and organization API keys (for their own).",
    params(
        ("accountId" = PathSegment, Path),
        ("serviceScopeId" = PathSegment, Path),
        ("serviceType" = PathSegment, Path),
    ),
    responses(
        (status = 200, description = "The service license.", body = ServiceLicense),
        (
            status = 404,
            description = "The account has no license visible to the caller (`ACCOUNT_LICENSE_NOT_FOUND`), or the \
                           tenant service has none (`SERVICE_LICENSE_NOT_FOUND`). `NOT_FOUND`: an id in the path \
                           longer than any id can be.",
            body = inline(ServiceLicenseNotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let account = req.path("accountId")?;
    let (scope, service_type) = (req.path("serviceScopeId")?, req.path("serviceType")?);
    allocation::get_tenant(app, req.call(), &account, &scope, &service_type).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
