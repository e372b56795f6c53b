//! The public license routes a customer's software calls with its key:
//! activate, deactivate, validate, heartbeat and checkout (an offline license).
//! The key is found by the digest of its value.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::license_key::{
    instance_event_subject, instance_not_found, key_digest, requiring_features, Fingerprint, Instance, InstanceId,
    InstanceName, KeyText, LicenseKey, LicenseKeyStatus,
};
use crate::domain::webhook::{INSTANCE_CREATED, INSTANCE_DELETED};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::reply::Reply;
use crate::retry::{until_done, Attempt, Conflicts};
use crate::services::events::Events;
use crate::store::{ActivationWrite, Written};
use crate::wire::dodo::{ActivatedInstance, Empty, OfflineLicense, Validation, ValidationResult};

async fn key_by_value(app: &App, license_key: &KeyText) -> ApiResult<LicenseKey> {
    app.store
        .license_key_by_value(license_key)
        .await?
        .ok_or_else(ApiError::license_key_not_found)
}

/// `POST /licenses/activate`: one more instance, within the key's limit; the
/// same device (`fingerprint`) again gets its live instance back (200).
pub async fn activate(
    app: &App,
    call: &Call,
    license_key: &KeyText,
    name: &InstanceName,
    fingerprint: Option<&Fingerprint>,
) -> ApiResult<Reply> {
    if let Some(fingerprint) = fingerprint {
        if fingerprint.chars().any(char::is_control) {
            return Err(ApiError::validation(
                "fingerprint",
                "must not contain control characters",
            ));
        }
    }
    let fingerprint = fingerprint.map(Fingerprint::as_str);
    // What the last attempt leaves to plan from; none: read afresh.
    let mut kept = None;
    // A sharded key's unit comes from a shard picked at random, so a burst spreads.
    let mut shard = None;
    until_done!(|conflicts| {
        let mut read = match kept.take() {
            Some(read) => read,
            None => app.store.read_for_activation(license_key, fingerprint).await?,
        };
        let key = read.key.clone().ok_or_else(ApiError::license_key_not_found)?;
        let now = clock::now();
        let plan = key.plan_activation(now);
        let held = read
            .held
            .as_ref()
            .filter(|i| i.license_key_id == key.id && i.is_live(now));
        if let (Some(held), true) = (&held, key.status(now) == LicenseKeyStatus::Active) {
            return Ok(Attempt::Done(Reply::ok(&ActivatedInstance::new(&key, held))?));
        }
        let plan = plan?;
        let id = ids::new_id("lki");
        let instance = Instance {
            event_subject: key
                .activation_shards
                .map(|shards| instance_event_subject(&key.id, &id, shards)),
            id,
            business_id: key.business_id.clone(),
            license_key_id: key.id.clone(),
            name: name.to_string(),
            created_at: clock::rfc3339(now),
            fingerprint: fingerprint.map(str::to_string),
            expires_at: plan.lease_until_ms.map(rfc3339_ms),
            key_digest: key_digest(&key.key),
        };
        let reply = Reply::created(&ActivatedInstance::new(&key, &instance))?;
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
        let picked = *shard.get_or_insert_with(|| random_shard(key.activation_shards));
        let written = app
            .store
            .activate(ActivationWrite {
                key: &key,
                instance: &instance,
                plan: &plan,
                shard: picked,
                holder: read.holder.as_deref(),
                now: &instance.created_at,
                events: &events,
                answer: call.answer(&reply).as_ref(),
            })
            .await?;
        if let Written::Done = written {
            return Ok(Attempt::Done(reply));
        }
        let shard_full = key.activation_shards.is_some()
            && written
                .shard_that_refused(0)?
                .is_some_and(|refused| Some(refused.epoch) == key.shard_epoch);
        if shard_full {
            conflicts.again();
            // With no room anywhere, read afresh: a limit reached is planned
            // only from the key, its device and its shards read at one instant.
            if make_room(app, &key, picked, conflicts).await? {
                kept = Some(read);
            }
            return Ok(Attempt::Retry);
        }
        let key_now = match key.activation_shards {
            None => written.key_that_refused_activation()?,
            Some(_) => None,
        };
        match key_now {
            // Only the key moved (it filled up, most often): plan again from it as
            // it refused, the device as read (the transaction held it), one instant.
            Some(key_now) if key_now.activation_shards.is_none() => {
                conflicts.again();
                read.key = Some(key_now);
                kept = Some(read);
                Ok(Attempt::Retry)
            }
            // Read again after the pause, and a shard picked afresh.
            _ => {
                shard = None;
                Ok(Attempt::Lost)
            }
        }
    })
    .await
}

/// A sharded key's shard `to` was full: half of the freest shard's room
/// moves to it (true: try again), if any shard has room.
async fn make_room(app: &App, key: &LicenseKey, to: u32, conflicts: &mut Conflicts) -> ApiResult<bool> {
    let shards = app.store.activation_shards(key).await?;
    let Some(change) = crate::domain::shards::rebalance(&shards, to) else {
        return Ok(false);
    };
    conflicts.before_write()?;
    app.store.rebalance_activations(key, change).await?;
    Ok(true)
}

/// One of a sharded key's shards, at random (0 for a key that has none).
fn random_shard(shards: Option<u32>) -> u32 {
    use rand::Rng;
    shards.map_or(0, |count| rand::thread_rng().gen_range(0..count))
}

fn rfc3339_ms(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    clock::rfc3339(at)
}

/// The key and the instance a public call names, the instance only if it is the key's.
async fn key_and_instance(
    app: &App,
    license_key: &KeyText,
    instance_id: &InstanceId,
) -> ApiResult<(LicenseKey, Option<Instance>)> {
    let (key, instance) = app.store.key_and_instance(license_key, Some(instance_id)).await?;
    let key = key.ok_or_else(ApiError::license_key_not_found)?;
    let instance = instance.filter(|i| i.license_key_id == key.id);
    Ok((key, instance))
}

/// `POST /licenses/heartbeat`: a leased instance lives one more lease from now.
pub async fn heartbeat(app: &App, call: &Call, license_key: &KeyText, instance_id: &InstanceId) -> ApiResult<Reply> {
    until_done!(|_| {
        let (key, instance) = key_and_instance(app, license_key, instance_id).await?;
        let now = clock::now();
        let mut instance = key.usable_instance(instance.as_ref(), now)?.clone();
        let Some(until_ms) = key.lease_end(now) else {
            // No lease to extend: the instance lives until it is deactivated.
            return Ok(Attempt::Done(Reply::ok(&instance)?));
        };
        instance.expires_at = Some(rfc3339_ms(until_ms));
        let reply = Reply::ok(&instance)?;
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
            Written::Done => Ok(Attempt::Done(reply)),
            // The lease ended, the instance went or the key changed: read again to say which.
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}

/// `POST /licenses/checkout`: an offline license for a live instance, signed.
/// `origin` is the one the request came to, the issuer unless the stack names one.
pub async fn checkout(
    app: &App,
    origin: Option<&str>,
    license_key: &KeyText,
    instance_id: &InstanceId,
) -> ApiResult<Reply> {
    let issuer = crate::domain::offline_license::issuer(&app.offline_license_issuer, origin)
        .ok_or_else(|| ApiError::internal("no OFFLINE_LICENSE_ISSUER and no domain name in the request"))?;
    let (key, instance) = key_and_instance(app, license_key, instance_id).await?;
    let now = clock::now();
    let instance = key.usable_instance(instance.as_ref(), now)?;
    let features = features_of(app, &key).await?;
    let claims = crate::domain::offline_license::claims(&key, instance, features, &issuer, now);
    let license = crate::offline_license::sign(app, &claims).await?;
    Reply::created(&OfflineLicense {
        license,
        expires_at: clock::rfc3339(claims.expires_at()),
    })
}

/// `POST /licenses/deactivate`: the instance is gone and its slot free.
pub async fn deactivate(app: &App, call: &Call, license_key: &KeyText, instance_id: &InstanceId) -> ApiResult<Reply> {
    let key = key_by_value(app, license_key).await?;
    let not_found = || ApiError::from(instance_not_found());
    // Read for its event; the delete is still conditioned on it being this key's.
    let instance = app
        .store
        .instance_for_change(instance_id)
        .await?
        .filter(|i| i.license_key_id == key.id)
        .ok_or_else(not_found)?;
    let reply = Reply::ok(&Empty {})?;
    let mut key = key;
    // Whether the last attempt was refused (rather than lost to a race): none before the first.
    let mut lost = None;
    until_done!(|_| {
        if let Some(refused) = lost.take() {
            let (was_sharded, was_epoch) = (key.activation_shards.is_some(), key.shard_epoch);
            key = key_by_value(app, license_key).await?;
            // Unsharded then and now, never split between: the count's own
            // condition refused (the instance's lease is gone).
            if refused && !was_sharded && key.activation_shards.is_none() && key.shard_epoch == was_epoch {
                return Err(not_found());
            }
        }
        // Built for each try, so its id is later than every change it follows.
        let events = Events::new(&key.business_id, clock::now())
            .instance(INSTANCE_DELETED, &instance)
            .build();
        // A sharded key's unit goes back to a shard that has one used.
        let shard = match key.activation_shards {
            Some(count) => {
                let shards = app.store.activation_shards(&key).await?;
                crate::domain::shards::giver(&shards, random_shard(Some(count))).unwrap_or_default()
            }
            None => 0,
        };
        let written = app
            .store
            .deactivate(
                &key,
                instance_id,
                shard,
                &clock::now_rfc3339(),
                &events,
                call.answer(&reply).as_ref(),
            )
            .await?;
        match written {
            Written::Done => Ok(Attempt::Done(())),
            Written::Refused { at: 0, .. } => Err(not_found()),
            // The count refused: the instance's lease is gone from an unsharded
            // key, or a shard moved, or the key was split or merged since the
            // read. The next attempt reads the key again, after the pause, to say which.
            Written::Refused { .. } | Written::Conflict => {
                lost = Some(!matches!(written, Written::Conflict));
                Ok(Attempt::Lost)
            }
        }
    })
    .await?;
    Ok(reply)
}

/// `POST /licenses/validate`: `{valid, code, license_key, product, instance}`,
/// always 200 for a well-formed request; one round trip of reads.
pub async fn validate(app: &App, body: &Validation) -> ApiResult<Reply> {
    let instance_id = body.license_key_instance_id.as_ref().map(InstanceId::as_str);
    let (key, instance) = app.store.key_and_instance(&body.license_key, instance_id).await?;
    let Some(key) = key else {
        return Reply::ok(&ValidationResult::not_found());
    };
    let features = features_of(app, &key).await?;
    let now = clock::now();
    let instance = instance.filter(|i| i.license_key_id == key.id);
    let code = key.validation_code(now, instance_id.map(|_| instance.as_ref()));
    let code = requiring_features(code, &features, body.features.as_deref().unwrap_or_default());
    Reply::ok(&ValidationResult::of(&key, instance.as_ref(), features, code, now))
}

/// The features `key` unlocks, as its entitlement names them now.
async fn features_of(app: &App, key: &LicenseKey) -> ApiResult<Vec<String>> {
    let entitlement = app.store.entitlement(&key.business_id, &key.entitlement_id).await?;
    Ok(entitlement.map(|e| e.key_features()).unwrap_or_default())
}

/// `GET /.well-known/jwks.json`: the public keys that verify offline licenses.
pub async fn key_set(app: &App) -> ApiResult<Reply> {
    Reply::ok(&crate::offline_license::key_set(app).await?)
}
