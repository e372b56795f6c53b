//! GET /license_keys/{id}
use licensing::{clock, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = req.path("id")?;
    let key = app.store.license_key_by_id(req.principal_id(), &id).await?;
    Reply::ok(
        &key.ok_or_else(|| ApiError::not_found("license key"))?
            .view(clock::now()),
    )
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
