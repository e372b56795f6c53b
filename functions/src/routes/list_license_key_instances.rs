//! GET /license_key_instances?license_key_id=&grant_id=&page_size=&page_number=&cursor=
use licensing::services::license_keys;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (license_key_id, grant_id) = (req.query("license_key_id"), req.query("grant_id"));
    license_keys::list_instances(app, req.call(), license_key_id, grant_id, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
