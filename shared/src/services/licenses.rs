//! The public license routes a customer's software calls with its key:
//! activate, deactivate, validate, heartbeat and checkout (an offline license).
//! The key is found by the digest of its value.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::license_key::{
    key_digest, Instance, LicenseKey, LicenseKeyStatus, FINGERPRINT_MAX, INSTANCE_NAME_MAX,
};
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

/// What activate answers: the instance with its customer and product.
fn activation_answer(key: &LicenseKey, instance: &Instance) -> serde_json::Value {
    let mut answer = instance_answer(instance);
    answer["customer"] = json!({
        "customer_id": key.customer_id,
        "email": key.customer_email.clone().unwrap_or_default(),
        "name": key.customer_name.clone().unwrap_or_default(),
    });
    answer["product"] = json!({ "product_id": key.product_id, "name": key.product_name });
    answer
}

/// `POST /licenses/activate`: one more instance, within the key's limit; the
/// same device (`fingerprint`) again gets its live instance back (200).
pub async fn activate(
    app: &App,
    call: &Call,
    license_key: &str,
    name: &str,
    fingerprint: Option<&str>,
) -> ApiResult<Reply> {
    check_len("license_key", license_key, 1, 255)?;
    check_len("name", name, 1, INSTANCE_NAME_MAX)?;
    if let Some(fingerprint) = fingerprint {
        check_len("fingerprint", fingerprint, 1, FINGERPRINT_MAX)?;
        if fingerprint.chars().any(char::is_control) {
            return Err(ApiError::validation(
                "fingerprint",
                "must not contain control characters",
            ));
        }
    }
    let mut conflicts = Conflicts::new();
    let mut read = app.store.read_for_activation(license_key, fingerprint).await?;
    loop {
        let key = read.key.clone().ok_or_else(key_not_found)?;
        let now = clock::now();
        let plan = key.plan_activation(now);
        let held = read
            .held
            .as_ref()
            .filter(|i| i.license_key_id == key.id && i.is_live(now));
        if let (Some(held), true) = (&held, key.status(now) == LicenseKeyStatus::Active) {
            return Reply::ok(&activation_answer(&key, held));
        }
        let plan = plan?;
        let instance = Instance {
            id: ids::new_id("lki"),
            business_id: key.business_id.clone(),
            license_key_id: key.id.clone(),
            name: name.to_string(),
            created_at: clock::rfc3339(now),
            fingerprint: fingerprint.map(str::to_string),
            expires_at: plan.lease_until_ms.map(rfc3339_ms),
            key_digest: key_digest(&key.key),
        };
        let reply = Reply::created(&activation_answer(&key, &instance))?;
        // The conditions re-check what was read, so a key that filled up or
        // changed since, or a device activated meanwhile, is read again.
        // The instances reclaimed go with their events, as a deactivation's would.
        let reclaimed = app
            .store
            .instances_by_id(plan.reclaim.iter().map(|(id, _)| id.as_str()))
            .await?;
        let events = reclaimed
            .iter()
            .fold(Events::new(&key.business_id, now), |events, gone| {
                events.instance(INSTANCE_DELETED, gone)
            })
            .instance(INSTANCE_CREATED, &instance)
            .build();
        conflicts.before_write()?;
        let written = app
            .store
            .activate(
                &key,
                &instance,
                &plan,
                read.holder.as_deref(),
                &instance.created_at,
                &events,
                call.answer(&reply).as_ref(),
            )
            .await?;
        if let Written::Done = written {
            return Ok(reply);
        }
        match written.key_that_refused_activation()? {
            // Only the key moved (it filled up, most often): plan again from it as it refused.
            Some(key_now) => {
                conflicts.again();
                read.key = Some(key_now);
            }
            None => {
                conflicts.pause().await?;
                read = app.store.read_for_activation(license_key, fingerprint).await?;
            }
        }
    }
}

fn rfc3339_ms(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    clock::rfc3339(at)
}

/// The instance as heartbeat and validate show it.
fn instance_answer(instance: &Instance) -> serde_json::Value {
    json!({
        "id": instance.id,
        "business_id": instance.business_id,
        "created_at": instance.created_at,
        "license_key_id": instance.license_key_id,
        "name": instance.name,
        "fingerprint": instance.fingerprint,
        "expires_at": instance.expires_at,
    })
}

/// The key and the instance a public call names, the instance only if it is the key's.
async fn key_and_instance(
    app: &App,
    license_key: &str,
    instance_id: &str,
) -> ApiResult<(LicenseKey, Option<Instance>)> {
    check_len("license_key", license_key, 1, 255)?;
    check_len("license_key_instance_id", instance_id, 1, 64)?;
    let (key, instance) = app.store.key_and_instance(license_key, Some(instance_id)).await?;
    let key = key.ok_or_else(key_not_found)?;
    let instance = instance.filter(|i| i.license_key_id == key.id);
    Ok((key, instance))
}

/// `POST /licenses/heartbeat`: a leased instance lives one more lease from now.
pub async fn heartbeat(app: &App, call: &Call, license_key: &str, instance_id: &str) -> ApiResult<Reply> {
    let mut conflicts = Conflicts::new();
    loop {
        let (key, instance) = key_and_instance(app, license_key, instance_id).await?;
        let now = clock::now();
        let mut instance = key.usable_instance(instance.as_ref(), now)?.clone();
        let Some(until_ms) = key.lease_end(now) else {
            // No lease to extend: the instance lives until it is deactivated.
            return Reply::ok(&instance_answer(&instance));
        };
        instance.expires_at = Some(rfc3339_ms(until_ms));
        let reply = Reply::ok(&instance_answer(&instance))?;
        match app
            .store
            .extend_lease(
                &key,
                &instance,
                until_ms,
                instance.expires_at.as_deref().unwrap_or_default(),
                &clock::rfc3339(now),
                call.answer(&reply).as_ref(),
            )
            .await?
        {
            Written::Done => return Ok(reply),
            // The lease ended, the instance went or the key changed: read again to say which.
            Written::Refused { .. } | Written::Conflict => conflicts.pause().await?,
        }
    }
}

/// `POST /licenses/checkout`: an offline license for a live instance, signed.
pub async fn checkout(app: &App, license_key: &str, instance_id: &str) -> ApiResult<Reply> {
    let (key, instance) = key_and_instance(app, license_key, instance_id).await?;
    let now = clock::now();
    let instance = key.usable_instance(instance.as_ref(), now)?;
    let claims = crate::domain::offline_license::claims(&key, instance, &app.offline_license_issuer, now);
    let license = crate::offline_license::sign(app, &claims).await?;
    Reply::created(&json!({ "license": license, "expires_at": clock::rfc3339(claims.expires_at()) }))
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

/// `POST /licenses/validate`: `{valid, code, license_key, product, instance}`,
/// always 200 for a well-formed request; one round trip of reads.
pub async fn validate(app: &App, license_key: &str, instance_id: Option<&str>) -> ApiResult<Reply> {
    check_len("license_key", license_key, 1, 255)?;
    if let Some(id) = instance_id {
        check_len("license_key_instance_id", id, 1, 64)?;
    }
    let (key, instance) = app.store.key_and_instance(license_key, instance_id).await?;
    let Some(key) = key else {
        return Reply::ok(&json!({
            "valid": false, "code": "NOT_FOUND", "license_key": null, "product": null, "instance": null,
        }));
    };
    let now = clock::now();
    let instance = instance.filter(|i| i.license_key_id == key.id);
    let code = key.validation_code(now, instance_id.map(|_| instance.as_ref()));
    Reply::ok(&json!({
        "valid": code == "VALID",
        "code": code,
        "license_key": {
            "id": key.id,
            "status": key.status(now),
            "expires_at": key.expires_at,
            "activations_limit": key.activations_limit,
            "instances_count": key.live_instances(now),
        },
        "product": { "product_id": key.product_id, "name": key.product_name },
        "instance": instance.map(|i| json!({
            "id": i.id, "name": i.name, "fingerprint": i.fingerprint, "expires_at": i.expires_at,
        })),
    }))
}

/// `GET /.well-known/jwks.json`: the public keys that verify offline licenses.
pub async fn key_set(app: &App) -> ApiResult<Reply> {
    Reply::ok(&crate::offline_license::key_set(app).await?)
}
