//! POST /licenses/deactivate (public): the instance is gone and its slot free.
use licensing::services::licenses;
use licensing::wire::dodo::InstanceRef;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: InstanceRef = req.json()?;
    licenses::deactivate(app, req.call(), &body.license_key, &body.license_key_instance_id).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Public, handle).await
}
