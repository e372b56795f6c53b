//! POST /license_keys: import a key for a customer, with no grant and no email.
use licensing::services::license_keys;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    license_keys::import(app, req.call(), req.json()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
