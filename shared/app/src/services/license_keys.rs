//! License keys as the business sees them: import, read, list, change, and
//! their instances (activations): read, list, rename.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::calendar::parse_client_time;
use crate::domain::grant_requests::Fulfilment;
use crate::domain::license_key::{InstanceName, KeyChanges, KeySource, LicenseKey, LicenseKeyStatus};
use crate::domain::webhook::{KEY_CREATED, KEY_UPDATED};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::reply::Reply;
use crate::retry::{until_done, Attempt};
use crate::services::events::Events;
use crate::store::{KeyQuery, PageRequest, Written};
use crate::wire::dodo::{LicenseKeyImport, LicenseKeyPatch};

fn not_found() -> ApiError {
    ApiError::not_found("license key")
}

fn instance_not_found() -> ApiError {
    ApiError::not_found("license key instance")
}

/// `POST /license_keys`: an imported key for a customer, with no grant and no email.
pub async fn import(app: &App, call: &Call, body: LicenseKeyImport) -> ApiResult<Reply> {
    Fulfilment {
        key: body.key.clone(),
        activations_limit: None,
        expires_at: None,
    }
    .check_key()?;
    check_limit(body.activations_limit)?;
    let expires_at = body.expires_at.as_deref().map(client_time).transpose()?;
    crate::domain::key_generation::check_key_strength(&body.key)?;
    app.admit_key_supplier(call.principal_id()).await?;
    let entitlement = app
        .store
        .entitlement(call.principal_id(), &body.product_id)
        .await?
        .filter(|e| e.is_active)
        .ok_or_else(|| ApiError::not_found("product"))?;
    let now = clock::now();
    let key = LicenseKey::imported(
        ids::new_id("lk"),
        &entitlement,
        body.customer_id.into_inner(),
        body.key.into_inner(),
        body.activations_limit,
        expires_at,
        &clock::rfc3339(now),
    );
    key.check_limit(key.activations_limit, now)?;
    let reply = Reply::created(&key.view(now))?;
    until_done!(|_| {
        // Built for each try, so its id is later than every change it follows.
        let events = Events::new(&key.business_id, clock::now())
            .key(KEY_CREATED, &key)
            .build();
        match app
            .store
            .import_license_key(&key, &events, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => Ok(Attempt::Done(())),
            Written::Refused { .. } => {
                Err(crate::services::grants::supplied_key_taken(app, call.principal_id(), &key.key).await)
            }
            Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await?;
    Ok(reply)
}

fn check_limit(limit: Option<i64>) -> ApiResult<()> {
    if limit.is_some_and(|n| n < 1) {
        return Err(ApiError::validation(
            "activations_limit",
            "must be at least 1, or null for no limit",
        ));
    }
    Ok(())
}

fn client_time(text: &str) -> ApiResult<String> {
    parse_client_time(text)
        .map(clock::rfc3339)
        .ok_or_else(|| ApiError::validation("expires_at", "must be an RFC 3339 timestamp"))
}

/// `PATCH /license_keys/{id}`: written only if the key is as read, so the grant's
/// copy and the answer are the truth.
pub async fn update(app: &App, call: &Call, id: &str, patch: LicenseKeyPatch) -> ApiResult<Reply> {
    if let Some(shards) = patch.activation_shards {
        if patch.activations_limit.is_some() || patch.disabled.is_some() || patch.expires_at.is_some() {
            return Err(ApiError::validation(
                "activation_shards",
                "is changed on its own, without other fields",
            ));
        }
        return reshard(app, call, id, shards).await;
    }
    check_limit(patch.activations_limit.flatten())?;
    let changes = KeyChanges {
        activations_limit: patch.activations_limit,
        disabled: patch.disabled,
        expires_at: patch
            .expires_at
            .map(|e| e.as_deref().map(client_time).transpose())
            .transpose()?,
    };
    until_done!(|_| {
        let key = own(app, call.principal_id(), id).await?;
        let after = changes.applied_to(&key);
        let now = clock::now();
        if changes.activations_limit.is_some() {
            key.check_limit(after.activations_limit, now)?;
        }
        let reply = Reply::ok(&after.view(now))?;
        let events = Events::new(&key.business_id, now).key(KEY_UPDATED, &after).build();
        // A sharded key's caps move to add up to the new limit.
        let cap_deltas = match (key.activation_shards, changes.activations_limit) {
            (Some(_), Some(limit)) => {
                let shards = app.store.activation_shards(&key).await?;
                match crate::domain::shards::recap(&shards, limit) {
                    Some(deltas) => Some(deltas),
                    // Activations since the read took the room: decide again.
                    None => return Ok(Attempt::Lost),
                }
            }
            _ => None,
        };
        match app
            .store
            .update_license_key(
                &key,
                &changes,
                cap_deltas.as_deref(),
                &clock::rfc3339(now),
                &events,
                call.answer(&reply).as_ref(),
            )
            .await?
        {
            Written::Done => Ok(Attempt::Done(reply)),
            // Activations moved since the read: decide again on fresh numbers.
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}

/// `PATCH /license_keys/{id}` with `activation_shards`: the key's count split
/// over that many shards, or merged back (null); a new number merges, then splits.
async fn reshard(app: &App, call: &Call, id: &str, wanted: Option<i64>) -> ApiResult<Reply> {
    until_done!(|_| {
        let key = own(app, call.principal_id(), id).await?;
        let wanted = key.check_sharding(wanted)?;
        let now = clock::now();
        if key.activation_shards == wanted {
            return Ok(Attempt::Done(Reply::ok(&key.view(now))?));
        }
        let mut after = key.clone();
        after.activation_shards = wanted;
        let reply = Reply::ok(&after.view(now))?;
        let events = Events::new(&key.business_id, now).key(KEY_UPDATED, &after).build();
        let written = match (key.activation_shards, wanted) {
            (None, Some(count)) => {
                let shards = crate::domain::shards::split(key.activations_limit, key.instances_count, count);
                app.store
                    .split_activations(
                        &key,
                        &shards,
                        &clock::rfc3339(now),
                        &events,
                        call.answer(&reply).as_ref(),
                    )
                    .await?
            }
            // Another number is merged first and split again on the next
            // turn, which carries the answer and the event.
            _ => {
                let last = wanted.is_none();
                let shards = app.store.activation_shards(&key).await?;
                app.store
                    .merge_activations(
                        &key,
                        &shards,
                        &clock::rfc3339(now),
                        if last { &events } else { &[] },
                        call.answer(&reply).as_ref().filter(|_| last),
                    )
                    .await?
            }
        };
        match written {
            Written::Done if key.activation_shards.is_none() || wanted.is_none() => Ok(Attempt::Done(reply)),
            // Merged: the split follows at once.
            Written::Done => Ok(Attempt::Retry),
            // Activations moved the count or the shards since the read.
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}

async fn own(app: &App, business_id: &str, id: &str) -> ApiResult<LicenseKey> {
    app.store
        .license_key_by_id(business_id, id)
        .await?
        .ok_or_else(not_found)
}

pub async fn get(app: &App, call: &Call, id: &str) -> ApiResult<Reply> {
    Reply::ok(&own(app, call.principal_id(), id).await?.view(clock::now()))
}

/// The filters of `GET /license_keys`, as the Dodo SDK sends them.
pub struct KeyFilters<'a> {
    pub customer_id: Option<&'a str>,
    pub status: Option<&'a str>,
    pub product_id: Option<&'a str>,
    pub source: Option<&'a str>,
    pub created_at_gte: Option<&'a str>,
    pub created_at_lte: Option<&'a str>,
}

pub async fn list(app: &App, call: &Call, filters: &KeyFilters<'_>, page: &PageRequest) -> ApiResult<Reply> {
    let status = match filters.status {
        None => None,
        Some("active") => Some(LicenseKeyStatus::Active),
        Some("expired") => Some(LicenseKeyStatus::Expired),
        Some("disabled") => Some(LicenseKeyStatus::Disabled),
        Some(_) => return Err(ApiError::validation("status", "must be active, expired or disabled")),
    };
    let source = match filters.source {
        None => None,
        Some(text) => Some(
            serde_json::from_value::<KeySource>(serde_json::Value::from(text))
                .map_err(|_| ApiError::validation("source", "must be auto, manual or import"))?,
        ),
    };
    let instant = |field: &str, text: Option<&str>| -> ApiResult<Option<String>> {
        text.map(|t| {
            parse_client_time(t)
                .map(clock::rfc3339)
                .ok_or_else(|| ApiError::validation(field, "must be an RFC 3339 timestamp"))
        })
        .transpose()
    };
    if let Some(id) = filters.product_id {
        crate::json::check_len("product_id", id, 1, 64)?;
    }
    let now = clock::now();
    let query = KeyQuery {
        customer_id: filters.customer_id,
        status,
        product_id: filters.product_id,
        source,
        created_from: instant("created_at_gte", filters.created_at_gte)?,
        created_until: instant("created_at_lte", filters.created_at_lte)?,
    };
    let page = app
        .store
        .list_license_keys(call.principal_id(), &query, &clock::rfc3339(now), page)
        .await?;
    let items: Vec<_> = page.items.iter().map(|k| k.view(now)).collect();
    Reply::page(&items, page.next_cursor)
}

pub async fn get_instance(app: &App, call: &Call, id: &str) -> ApiResult<Reply> {
    let instance = app
        .store
        .instance(id)
        .await?
        .filter(|i| i.business_id == call.principal_id());
    Reply::ok(&instance.ok_or_else(instance_not_found)?)
}

/// Instances of the business, of one key, or of the key a grant delivered.
pub async fn list_instances(
    app: &App,
    call: &Call,
    license_key_id: Option<&str>,
    grant_id: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Reply> {
    let business = call.principal_id();
    // A grant has at most one key: its instances are that key's.
    let license_key_id = match (license_key_id, grant_id) {
        (Some(id), _) => Some(id.to_string()),
        (None, Some(grant_id)) => {
            let grant = crate::services::grants::own(app, business, grant_id).await?;
            Some(grant.license_key.map(|k| k.id).unwrap_or_default())
        }
        (None, None) => None,
    };
    let page = app
        .store
        .list_instances(business, license_key_id.as_deref(), page)
        .await?;
    Reply::page(&page.items, page.next_cursor)
}

pub async fn rename_instance(app: &App, call: &Call, id: &str, name: &InstanceName) -> ApiResult<Reply> {
    let mut instance = app
        .store
        .instance(id)
        .await?
        .filter(|i| i.business_id == call.principal_id())
        .ok_or_else(instance_not_found)?;
    instance.name = name.to_string();
    let reply = Reply::ok(&instance)?;
    until_done!(|_| {
        match app
            .store
            .rename_instance(call.principal_id(), id, name, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => Ok(Attempt::Done(())),
            Written::Refused { .. } => Err(instance_not_found()),
            Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await?;
    Ok(reply)
}
