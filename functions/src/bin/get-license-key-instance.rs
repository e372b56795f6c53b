//! GET /license_key_instances/{id}
use licensing::{Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = req.path("id")?;
    let instance = app
        .store
        .instance(&id)
        .await?
        .filter(|i| i.business_id == req.principal_id());
    Reply::ok(&instance.ok_or_else(|| ApiError::not_found("license key instance"))?)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
