//! The public license routes a customer's software calls with its key:
//! activate, deactivate, validate. The key is found by the digest of its value.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::license_key::{key_digest, Instance, LicenseKey, INSTANCE_NAME_MAX};
use crate::domain::webhook::{INSTANCE_CREATED, INSTANCE_DELETED};
use crate::error::{ApiError, ApiResult};
use crate::http::Reply;
use crate::ids;
use crate::json::check_len;
use crate::retry::Conflicts;
use crate::services::events::Events;
use crate::store::Written;
use serde_json::json;

fn key_not_found() -> ApiError {
    ApiError::new(404, "LICENSE_KEY_NOT_FOUND", "no such license key")
}

async fn key_by_value(app: &App, license_key: &str) -> ApiResult<LicenseKey> {
    check_len("license_key", license_key, 1, 255)?;
    app.store
        .license_key_by_value(license_key)
        .await?
        .ok_or_else(key_not_found)
}

/// `POST /licenses/activate`: one more instance, within the key's limit.
pub async fn activate(app: &App, call: &Call, license_key: &str, name: &str) -> ApiResult<Reply> {
    check_len("license_key", license_key, 1, 255)?;
    check_len("name", name, 1, INSTANCE_NAME_MAX)?;
    let mut conflicts = Conflicts::new();
    loop {
        let key = key_by_value(app, license_key).await?;
        if let Some(blocker) = key.activation_blocker(clock::now()) {
            return Err(blocker.into());
        }
        let instance = Instance {
            id: ids::new_id("lki"),
            business_id: key.business_id.clone(),
            license_key_id: key.id.clone(),
            name: name.to_string(),
            created_at: clock::now_rfc3339(),
            key_digest: key_digest(&key.key),
        };
        let reply = Reply::created(&json!({
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
        }))?;
        // The conditions re-check what was read, so a key that filled up or
        // changed since is refused here, and read again to say why.
        let events = Events::new(&key.business_id, clock::now())
            .instance(INSTANCE_CREATED, &instance)
            .build();
        match app
            .store
            .activate(
                &key,
                &instance,
                &instance.created_at,
                &events,
                call.answer(&reply).as_ref(),
            )
            .await?
        {
            Written::Done => return Ok(reply),
            Written::Refused { .. } | Written::Conflict => conflicts.pause().await?,
        }
    }
}

/// `POST /licenses/deactivate`: the instance is gone and its slot free.
pub async fn deactivate(app: &App, call: &Call, license_key: &str, instance_id: &str) -> ApiResult<Reply> {
    check_len("license_key_instance_id", instance_id, 1, 64)?;
    let key = key_by_value(app, license_key).await?;
    let not_found = || {
        ApiError::new(
            404,
            "LICENSE_KEY_INSTANCE_NOT_FOUND",
            "no such instance of this license key",
        )
    };
    // Read for its event; the delete is still conditioned on it being this key's.
    let instance = app
        .store
        .instance_for_change(instance_id)
        .await?
        .filter(|i| i.license_key_id == key.id)
        .ok_or_else(not_found)?;
    let reply = Reply::ok(&json!({}))?;
    let mut conflicts = Conflicts::new();
    loop {
        // Built for each try, so its id is later than every change it follows.
        let events = Events::new(&key.business_id, clock::now())
            .instance(INSTANCE_DELETED, &instance)
            .build();
        match app
            .store
            .deactivate(
                &key,
                instance_id,
                &clock::now_rfc3339(),
                &events,
                call.answer(&reply).as_ref(),
            )
            .await?
        {
            Written::Done => return Ok(reply),
            Written::Refused { .. } => return Err(not_found()),
            Written::Conflict => conflicts.pause().await?,
        }
    }
}

/// `POST /licenses/validate`: `{valid, code}`, always 200 for a well-formed request.
pub async fn validate(app: &App, license_key: &str, instance_id: Option<&str>) -> ApiResult<Reply> {
    check_len("license_key", license_key, 1, 255)?;
    if let Some(id) = instance_id {
        check_len("license_key_instance_id", id, 1, 64)?;
    }
    let code = match app.store.license_key_by_value(license_key).await? {
        None => "NOT_FOUND",
        Some(key) => {
            let instance_belongs = match instance_id {
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
