//! GET /.well-known/jwks.json (public): the keys that verify offline licenses.
use licensing::services::licenses;
use licensing::{ApiResult, App, Reply, Request};

async fn handle(app: &'static App, _req: Request) -> ApiResult<Reply> {
    licenses::key_set(app).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_key_set(handle).await
}
