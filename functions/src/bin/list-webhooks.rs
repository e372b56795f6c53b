//! GET /webhooks?limit=&iterator=
use licensing::services::webhooks;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    webhooks::list(app, req.call(), &req.limit_page()?).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
