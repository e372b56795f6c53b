//! POST /licenses/validate (public): `{valid, code}`, always 200.
use licensing::services::licenses;
use licensing::wire::dodo::Validation;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Validation = req.json()?;
    licenses::validate(app, &body.license_key, body.license_key_instance_id.as_ref()).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Public, handle).await
}
