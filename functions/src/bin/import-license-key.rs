//! POST /license_keys: import a key for a customer, with no grant and no email.
use license_keys::Import;
use licensing::services::license_keys;
use licensing::{Access, ApiResult, App, Reply, Request};
use serde::Deserialize;

#[derive(Deserialize)]
struct Body {
    customer_id: String,
    key: String,
    product_id: String,
    #[serde(default)]
    activations_limit: Option<i64>,
    #[serde(default)]
    expires_at: Option<String>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Body = req.json()?;
    let import = Import {
        customer_id: body.customer_id,
        key: body.key,
        product_id: body.product_id,
        activations_limit: body.activations_limit,
        expires_at: body.expires_at,
    };
    license_keys::import(app, req.call(), import).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
