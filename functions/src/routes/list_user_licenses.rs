//! GET /lease_/api/account/{accountId}/user-licenses?userBundleCode=&page_size=&cursor= (that organization)
use crate::openapi::{AccountLicenseNotFound, Cursor, PageNumber, PageSize, QueryInvalid, SeatHolderList};
use licensing::services::allocation;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Organization;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/lease_/api/account/{accountId}/user-licenses",
    operation_id = "listUserLicenses",
    summary = "List the users holding seats, by user id",
    tag = "User licenses",
    description = "Organization API keys only, for their own account. Users whose seat holds no code are not \
                   listed; ascending by `userId`. With `userBundleCode`, only the users holding that code: such a \
                   page may hold fewer than `page_size` items and still have a `next_cursor`, and walking every \
                   page gives each match once.",
    params(
        ("accountId" = PathSegment, Path),
        (
            "userBundleCode" = Option<String>,
            Query,
            // allocation's CODE_PATTERN (utoipa takes only a literal).
            pattern = "^[A-Z0-9-]{2,32}$",
            description = "Only the users holding this bundle code (422 for a malformed code).",
        ),
        PageSize,
        PageNumber,
        Cursor,
    ),
    responses(
        (status = 200, description = "One page.", body = SeatHolderList),
        (
            status = 404,
            description = "The account is not the caller's or has no license (`ACCOUNT_LICENSE_NOT_FOUND`). \
                           `NOT_FOUND`: an id in the path longer than any id can be.",
            body = inline(AccountLicenseNotFound),
        ),
        (status = 422, response = QueryInvalid),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (account, page) = (req.path("accountId")?, req.page()?);
    allocation::list_seat_holders(app, req.call(), &account, req.query("userBundleCode"), &page).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
