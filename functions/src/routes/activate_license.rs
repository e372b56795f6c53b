//! POST /licenses/activate (public): one more activation of a key, within its
//! limit; a device (`fingerprint`) that activates again gets its instance back.
use licensing::services::licenses;
use licensing::wire::dodo::Activation;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Activation = req.json()?;
    let fingerprint = body.fingerprint.as_ref();
    licenses::activate(app, req.call(), &body.license_key, &body.name, fingerprint).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Public, handle).await
}
