//! PATCH /license_keys/{id}: activations_limit, disabled, expires_at.
use licensing::domain::grant::parse_client_time;
use licensing::json::nullable;
use licensing::store::{KeyChanges, Written};
use licensing::{clock, retry, Access, ApiError, ApiResult, App, Reply, Request};
use serde::Deserialize;

#[derive(Deserialize)]
struct Patch {
    #[serde(default, deserialize_with = "nullable")]
    activations_limit: Option<Option<i64>>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    expires_at: Option<Option<String>>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = req.path("id")?;
    let patch: Patch = req.json()?;
    if patch.activations_limit.flatten().is_some_and(|n| n < 1) {
        return Err(ApiError::validation(
            "activations_limit",
            "must be at least 1, or null for no limit",
        ));
    }
    let expires_at = match patch.expires_at {
        Some(Some(text)) => {
            Some(Some(clock::rfc3339(parse_client_time(&text).ok_or_else(|| {
                ApiError::validation("expires_at", "must be an RFC 3339 timestamp")
            })?)))
        }
        other => other.map(|_| None),
    };
    let changes = KeyChanges {
        activations_limit: patch.activations_limit,
        disabled: patch.disabled,
        expires_at,
    };
    let not_found = || ApiError::not_found("license key");
    for attempt in 0..retry::MAX_CONFLICT_RETRIES {
        let key = app
            .store
            .license_key_by_id(req.principal_id(), &id)
            .await?
            .ok_or_else(not_found)?;
        match app
            .store
            .update_license_key(&key, &changes, &clock::now_rfc3339())
            .await?
        {
            Written::Done => return Reply::ok(&changes.applied_to(&key).view(clock::now())),
            Written::Refused(_) => {
                return Err(ApiError::unprocessable(
                    "ACTIVATION_LIMIT_LESS_THAN_CURRENT_AMOUNT",
                    format!(
                        "activations_limit is below the {} live activations",
                        key.instances_count
                    ),
                ))
            }
            Written::Conflict => retry::pause(attempt).await,
        }
    }
    Err(ApiError::conflict(
        "LICENSE_KEY_BUSY",
        "the license key is changing too often; try again",
    ))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
