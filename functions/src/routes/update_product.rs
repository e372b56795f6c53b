//! PATCH /products/{product_id}
use crate::openapi::NotFound;
use licensing::domain::product::{ProductPatch, ProductView};
use licensing::services::products;
use licensing::wire::schema::PathSegment;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Business;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// The 401, 403, 413 and 503, and a write's Idempotency-Key, 409 and 422 or 400,
/// follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    patch,
    path = "/products/{product_id}",
    operation_id = "updateProduct",
    summary = "Set which entitlements a product grants",
    description = "As the Dodo SDK's `products.update` sends it; its other fields are ignored. \
        `product_id` is the payment provider's id for the product.",
    tag = "Products",
    params(("product_id" = PathSegment, Path)),
    request_body = Option<ProductPatch>,
    responses(
        (status = 200, description = "The product as changed.", body = ProductView),
        (
            status = 404,
            description = "An entitlement that is not an active one of the caller's, \
                or any credit entitlement (`NOT_FOUND`).",
            body = inline(NotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    products::update(app, req.call(), &req.path("product_id")?, req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
