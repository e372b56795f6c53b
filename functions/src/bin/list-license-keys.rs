//! GET /license_keys?customer_id=&status=&page_size=&page_number=&cursor=
use licensing::services::license_keys;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (customer_id, status) = (req.query("customer_id"), req.query("status"));
    license_keys::list(app, req.call(), customer_id, status, &req.page()?).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
