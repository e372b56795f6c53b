//! GET /lrm/api/account/{accountId}/service-licenses?page_size=&cursor= (the host, or that organization)
use crate::openapi::{AccountLicenseNotFound, Cursor, PageNumber, PageSize, QueryInvalid, ServiceLicenseList};
use licensing::services::allocation;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::HostOrOrganization;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/lrm/api/account/{accountId}/service-licenses",
    operation_id = "listServiceLicenses",
    summary = "List an organization's tenant service licenses, by scope and type",
    tag = "Service licenses",
    description = "Host API keys (for their organizations) and organization API keys (for their own). Each item \
                   is what `GET .../service-license/{serviceScopeId}/{serviceType}` answers for it; ascending by \
                   `serviceScopeId`, then `serviceType`. An organization with no tenant service gets an empty page.",
    params(("accountId" = PathSegment, Path), PageSize, PageNumber, Cursor),
    responses(
        (status = 200, description = "One page.", body = ServiceLicenseList),
        (
            status = 404,
            description = "The account has no license visible to the caller (`ACCOUNT_LICENSE_NOT_FOUND`). \
                           `NOT_FOUND`: an id in the path longer than any id can be.",
            body = inline(AccountLicenseNotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    allocation::list_tenants(app, req.call(), &req.path("accountId")?, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
