//! POST /licenses/deactivate (public): the instance is gone and its slot free.
use licensing::json::check_len;
use licensing::store::Written;
use licensing::{clock, retry, Access, ApiError, ApiResult, App, Reply, Request};
use serde::Deserialize;

#[derive(Deserialize)]
struct Deactivation {
    license_key: String,
    license_key_instance_id: String,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Deactivation = req.json()?;
    check_len("license_key", &body.license_key, 1, 255)?;
    check_len("license_key_instance_id", &body.license_key_instance_id, 1, 64)?;
    let key = app
        .store
        .license_key_by_value(&body.license_key)
        .await?
        .ok_or_else(|| ApiError::new(404, "LICENSE_KEY_NOT_FOUND", "no such license key"))?;
    for attempt in 0..retry::MAX_CONFLICT_RETRIES * 2 {
        match app
            .store
            .deactivate(&key, &body.license_key_instance_id, &clock::now_rfc3339())
            .await?
        {
            Written::Done => return Reply::ok(&serde_json::json!({})),
            Written::Refused(_) => {
                return Err(ApiError::new(
                    404,
                    "LICENSE_KEY_INSTANCE_NOT_FOUND",
                    "no such instance of this license key",
                ))
            }
            Written::Conflict => retry::pause(attempt).await,
        }
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
