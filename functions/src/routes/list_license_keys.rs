//! GET /license_keys?customer_id=&status=&product_id=&source=&created_at_gte=&created_at_lte=&page_size=&page_number=&cursor=
use licensing::services::license_keys::{self, KeyFilters};
use licensing::{Access, ApiResult, App, Reply, Request};
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
    licensing::serve(Access::Business, handle).await
}
