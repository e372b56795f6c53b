//! POST /licenses/activate (public): one more activation of a key, within its limit.
use licensing::domain::license_key::{key_digest, Instance, INSTANCE_NAME_MAX};
use licensing::json::check_len;
use licensing::store::Written;
use licensing::{clock, ids, retry, Access, ApiError, ApiResult, App, Reply, Request};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Activation {
    license_key: String,
    name: String,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Activation = req.json()?;
    check_len("license_key", &body.license_key, 1, 255)?;
    check_len("name", &body.name, 1, INSTANCE_NAME_MAX)?;
    let not_found = || ApiError::new(404, "LICENSE_KEY_NOT_FOUND", "no such license key");
    for attempt in 0..retry::MAX_CONFLICT_RETRIES * 2 {
        let key = app
            .store
            .license_key_by_value(&body.license_key)
            .await?
            .ok_or_else(not_found)?;
        if let Some(blocker) = key.activation_blocker(clock::now()) {
            return Err(blocker);
        }
        let instance = Instance {
            id: ids::new_id("lki"),
            business_id: key.business_id.clone(),
            license_key_id: key.id.clone(),
            name: body.name.clone(),
            created_at: clock::now_rfc3339(),
            key_digest: key_digest(&key.key),
        };
        // The conditions re-check what was read, so a key that filled up or
        // changed since is refused here, and read again to say why.
        if let Written::Done = app.store.activate(&key, &instance, &instance.created_at).await? {
            return Reply::created(&json!({
                "id": instance.id,
                "business_id": instance.business_id,
                "created_at": instance.created_at,
                "license_key_id": instance.license_key_id,
                "name": instance.name,
                "customer": {
                    "customer_id": key.customer_id,
                    "email": key.customer_email.clone().unwrap_or_default(),
                    "name": key.customer_name.clone().unwrap_or_default(),
                },
                "product": { "product_id": key.product_id, "name": key.product_name },
            }));
        }
        retry::pause(attempt).await;
    }
    Err(ApiError::new(
        429,
        "TOO_MANY_ACTIVATIONS",
        "this license key is busy; try again",
    ))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Public, handle).await
}
