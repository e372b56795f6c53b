//! GET /license_keys?customer_id=&status=&product_id=&source=&created_at_gte=&created_at_lte=&page_size=&page_number=&cursor=
use crate::openapi::{Cursor, LicenseKeyList, PageNumber, PageSize, QueryInvalid};
use licensing::domain::license_key::{KeySource, LicenseKeyStatus};
use licensing::services::license_keys::{self, KeyFilters};
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/license_keys",
    operation_id = "listLicenseKeys",
    summary = "List the caller's license keys, newest first",
    tag = "License keys",
    params(
        ("customer_id" = Option<String>, Query, max_length = 255, description = "Only this customer's keys."),
        ("status" = Option<LicenseKeyStatus>, Query),
        (
            "product_id" = Option<String>,
            Query,
            min_length = 1,
            max_length = 64,
            description = "Only the keys of this product (entitlement id).",
        ),
        (
            "source" = inline(Option<KeySource>),
            Query,
            description = "Only the keys made this way (422 for another value).",
        ),
        (
            "created_at_gte" = Option<String>,
            Query,
            format = DateTime,
            max_length = 255,
            description = "Only keys created at or after this instant (RFC 3339; 422 otherwise).",
        ),
        (
            "created_at_lte" = Option<String>,
            Query,
            format = DateTime,
            max_length = 255,
            description = "Only keys created at or before this instant (RFC 3339; 422 otherwise).",
        ),
        PageSize,
        PageNumber,
        Cursor,
    ),
    responses(
        (status = 200, description = "One page; the filters given combine with AND.", body = LicenseKeyList),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let filters = KeyFilters {
        customer_id: req.query("customer_id"),
        status: req.query("status"),
        product_id: req.query("product_id"),
        source: req.query("source"),
        created_at_gte: req.query("created_at_gte"),
        created_at_lte: req.query("created_at_lte"),
    };
    license_keys::list(app, req.call(), &filters, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
