//! PATCH /license_key_instances/{id}: rename.
use licensing::domain::license_key::INSTANCE_NAME_MAX;
use licensing::json::check_len;
use licensing::{Access, ApiError, ApiResult, App, Reply, Request};
use serde::Deserialize;

#[derive(Deserialize)]
struct Rename {
    name: String,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = req.path("id")?;
    let body: Rename = req.json()?;
    check_len("name", &body.name, 1, INSTANCE_NAME_MAX)?;
    let renamed = app.store.rename_instance(req.principal_id(), &id, &body.name).await?;
    Reply::ok(&renamed.ok_or_else(|| ApiError::not_found("license key instance"))?)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
