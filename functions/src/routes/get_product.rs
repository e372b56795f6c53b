//! GET /products/{product_id}
use crate::openapi::NotFound;
use licensing::domain::product::ProductView;
use licensing::services::products;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503 follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/products/{product_id}",
    operation_id = "getProduct",
    summary = "Get the entitlements a product grants",
    tag = "Products",
    params(("product_id" = PathSegment, Path)),
    responses(
        (status = 200, description = "The product.", body = ProductView),
        (
            status = 404,
            description = "No entitlement was ever attached to this product in the caller's business (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    products::get(app, req.call(), &req.path("product_id")?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
