//! GET /grants/{grant_id}
use crate::openapi::NotFound;
use licensing::domain::grant::Grant;
use licensing::services::grants;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/grants/{grant_id}",
    operation_id = "getGrant",
    summary = "Get a grant",
    tag = "Grants",
    params(("grant_id" = PathSegment, Path)),
    responses(
        (status = 200, description = "The grant.", body = Grant),
        (
            status = 404,
            description = "No grant with this id belongs to the caller (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    grants::get(app, req.call(), &req.path("grant_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
