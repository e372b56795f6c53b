//! POST /licenses/activate (public): one more activation of a key, within its
//! limit; a device (`fingerprint`) that activates again gets its instance back.
use licensing::services::licenses;
use licensing::{Access, ApiResult, App, Reply, Request};
use serde::Deserialize;
#[derive(Deserialize)]
struct Activation {
    license_key: String,
    name: String,
    #[serde(default)]
    fingerprint: Option<String>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Activation = req.json()?;
    licenses::activate(
        app,
        req.call(),
        &body.license_key,
        &body.name,
        body.fingerprint.as_deref(),
    )
    .await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Public, handle).await
}
