//! POST /licenses/validate (public): `{valid, code}`, always 200.
use licensing::domain::license_key::key_digest;
use licensing::json::check_len;
use licensing::{clock, Access, ApiResult, App, Reply, Request};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Validation {
    license_key: String,
    #[serde(default)]
    license_key_instance_id: Option<String>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Validation = req.json()?;
    check_len("license_key", &body.license_key, 1, 255)?;
    let code = match app.store.license_key_by_value(&body.license_key).await? {
        None => "NOT_FOUND",
        Some(key) => {
            let instance_belongs = match &body.license_key_instance_id {
                Some(id) => Some(
                    app.store
                        .instance(id)
                        .await?
                        .is_some_and(|i| i.key_digest == key_digest(&key.key)),
                ),
                None => None,
            };
            key.validation_code(clock::now(), instance_belongs)
        }
    };
    Reply::ok(&json!({ "valid": code == "VALID", "code": code }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Public, handle).await
}
