//! PATCH /license_key_instances/{id}: rename.
use licensing::services::license_keys;
use licensing::wire::dodo::InstanceRename;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: InstanceRename = req.json()?;
    license_keys::rename_instance(app, req.call(), &req.path("id")?, &body.name).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
