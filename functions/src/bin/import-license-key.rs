//! POST /license_keys: import a key for a customer, with no grant and no email.
use licensing::services::license_keys;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    license_keys::import(app, req.call(), req.json()?).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
