//! GET /license_key_instances?license_key_id=&grant_id=&page_size=&page_number=&cursor=
use crate::openapi::{Cursor, LicenseKeyInstanceList, NotFound, PageNumber, PageSize, QueryInvalid};
use licensing::services::license_keys;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/license_key_instances",
    operation_id = "listLicenseKeyInstances",
    summary = "List activations, newest first",
    tag = "License key instances",
    params(
        ("license_key_id" = Option<String>, Query, max_length = 255, description = "Only this key's instances."),
        (
            "grant_id" = Option<String>,
            Query,
            max_length = 255,
            description = "Only the instances of this grant's key (ignored when `license_key_id` is given; empty \
                           when the grant has no key).",
        ),
        PageSize,
        PageNumber,
        Cursor,
    ),
    responses(
        (status = 200, description = "One page.", body = LicenseKeyInstanceList),
        (
            status = 404,
            description = "`grant_id` names no grant of the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (license_key_id, grant_id) = (req.query("license_key_id"), req.query("grant_id"));
    license_keys::list_instances(app, req.call(), license_key_id, grant_id, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
