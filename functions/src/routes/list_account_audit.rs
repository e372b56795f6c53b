//! GET /lrm/api/account/{accountId}/audit?page_size=&page_number=&cursor= (the host, or that organization)
use crate::openapi::{AccountLicenseNotFound, AuditList, Cursor, PageNumber, PageSize, QueryInvalid};
use licensing::services::allocation;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::HostOrOrganization;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/lrm/api/account/{accountId}/audit",
    operation_id = "listAccountAudit",
    summary = "List an account's allocation changes, newest first",
    tag = "Audit",
    description = "Host API keys (their own account and their organizations') and organization API keys (their \
                   own).",
    params(("accountId" = PathSegment, Path), PageSize, PageNumber, Cursor),
    responses(
        (status = 200, description = "One page.", body = AuditList),
        (
            status = 404,
            description = "The account is not visible to the caller (`ACCOUNT_LICENSE_NOT_FOUND`). `NOT_FOUND`: an \
                           id in the path longer than any id can be.",
            body = inline(AccountLicenseNotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    allocation::audit_page(app, req.call(), &req.path("accountId")?, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
