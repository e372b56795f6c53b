//! License keys and their instances (activations).
//!
//! - key: `pk = LK#<digest of the key>` (global uniqueness and the public
//!   routes' lookup); admin routes reach it through `pk = LKID#<id>`. Listed in
//!   `gsi1` per business and `gsi2` per customer. grants.rs writes a delivered
//!   key's items (`license_key_items`) with its grant.
//! - instance: `pk = LKI#<id>`; listed in `gsi1` per key and `gsi2` per business.
//! - device: `pk = LKFP#<key digest>#<fingerprint digest>`, naming the instance
//!   that device holds; one per device and key, so racing activations of one
//!   device make one instance. Left behind when its instance goes: a stale one
//!   names an instance that is gone or expired, and the next activation of the
//!   device replaces it on that condition.
//! - a leased key carries `leases` (instance id to lease end, ms), copied on its
//!   grant's `license_key`, so one read tells how many instances are live.
//!
//! An activation and a deactivation are each one transaction over the key's
//! count, the instance and the grant's copy of the count, so the two counts
//! always agree and the limit holds whatever runs at the same time.
//!
//! A key with `activation_shards` keeps its count in that many shards
//! (counter_shards.rs, counter `LK#<digest>`) instead: an activation takes a
//! unit from one shard and writes neither the key nor the grant, so a burst on
//! one key spreads over N items. The key's `shard_epoch` moves with every
//! change of the key, shards and all, so an activation under an older state
//! fails; every write of the unsharded count requires the key to be unsharded.
//! The key's stored `instances_count` is left as it was at the split: reads
//! add up the shards, and the grant's copy is set from them at the merge.

use super::counter_shards;
use super::paging::{Filter, KeyRange, PageOfItems};
use super::webhooks::event_puts;
use super::{
    from_item, grant_key, key, n, put_new, s, to_attribute, to_item, AnswerRecord, Item, PageRequest, Store, Written,
};
use crate::domain::license_key::{
    key_digest, Activation, Instance, KeyChanges, KeySource, LicenseKey, LicenseKeyStatus,
};
use crate::domain::shards::Shard;
use crate::domain::webhook::Event;
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

/// A license key's item, addressed by the digest of its value.
pub(super) fn license_key_key(digest: &str) -> Item {
    key(format!("LK#{digest}"), "LK")
}

/// A key's id, pointing at its item for the admin routes.
fn pointer_key(id: &str) -> Item {
    key(format!("LKID#{id}"), "LKID")
}

/// `gsi1pk` of a business's keys.
fn keys_of_business(business_id: &str) -> String {
    format!("BIZ#{business_id}#LK")
}

/// `gsi2pk` of a customer's keys.
fn keys_of_customer(business_id: &str, customer_id: &str) -> String {
    format!("BIZ#{business_id}#CUST#{customer_id}#LK")
}

/// The key's item and its id's pointer, as a new key (issued, fulfilled or imported) writes them.
pub(super) fn license_key_items(license_key: &LicenseKey) -> Result<[Item; 2], ApiError> {
    let mut item = to_item(license_key)?;
    item.extend(license_key_key(&key_digest(&license_key.key)));
    item.insert("gsi1pk".into(), s(keys_of_business(&license_key.business_id)));
    item.insert("gsi1sk".into(), s(&license_key.id));
    item.insert(
        "gsi2pk".into(),
        s(keys_of_customer(&license_key.business_id, &license_key.customer_id)),
    );
    item.insert("gsi2sk".into(), s(&license_key.id));
    let mut pointer = pointer_key(&license_key.id);
    pointer.insert("business_id".into(), s(&license_key.business_id));
    pointer.insert("key_digest".into(), s(key_digest(&license_key.key)));
    Ok([item, pointer])
}

fn instance_key(id: &str) -> Item {
    key(format!("LKI#{id}"), "LKI")
}

/// The instance a device's claim names, if the device has a claim.
fn claimed_instance(claim: Option<Item>) -> Option<String> {
    claim.and_then(|item| item.get("instance_id").and_then(|v| v.as_s().ok()).cloned())
}

fn device_key(key_digest: &str, fingerprint: &str) -> Item {
    key(
        format!("LKFP#{key_digest}#{}", crate::digest::sha256_hex(fingerprint)),
        "LKFP",
    )
}

/// What one read finds for an activation: the key and, for a device, the
/// instance its device item names (`holder`, possibly gone or expired).
pub struct ActivationRead {
    pub key: Option<LicenseKey>,
    pub holder: Option<String>,
    pub held: Option<Instance>,
}

/// What one activation writes (`Store::activate`), from what `ActivationRead` found.
pub struct ActivationWrite<'a> {
    pub key: &'a LicenseKey,
    pub instance: &'a Instance,
    /// Planned from `key` as read: its leases and the instances it reclaims.
    pub plan: &'a Activation,
    /// The shard a sharded key's unit comes from; unused for any other key.
    pub shard: u32,
    /// The instance the device item named when read, if any.
    pub holder: Option<&'a str>,
    pub now: &'a str,
    pub events: &'a [Event],
    pub answer: Option<&'a AnswerRecord>,
}

/// Attribute names and values of expressions built piece by piece.
#[derive(Default)]
struct Expression {
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

impl Expression {
    fn name(&mut self, placeholder: String, name: &str) -> String {
        self.names.push((placeholder.clone(), name.to_string()));
        placeholder
    }

    fn value(&mut self, placeholder: &str, value: AttributeValue) -> String {
        self.values.push((placeholder.to_string(), value));
        placeholder.to_string()
    }

    fn apply(
        self,
        mut update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        for (placeholder, name) in self.names {
            update = update.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in self.values {
            update = update.expression_attribute_values(placeholder, value);
        }
        update
    }
}

/// The counter a sharded key's activations are split from: the key item's partition.
pub(super) fn activation_counter(digest: &str) -> String {
    format!("LK#{digest}")
}

/// Every write of a key's own count: the key is not split meanwhile.
const UNSHARDED: &str = "attribute_not_exists(activation_shards)";

/// How a change of the key itself is guarded: by the count it was decided
/// from, or for a sharded key by its epoch, which moves on with every shard's
/// (their caps by `cap_deltas`) so no activation under the old state lands.
pub(super) struct ChangeGuard {
    pub condition: String,
    pub set: Option<&'static str>,
    pub values: Vec<(&'static str, AttributeValue)>,
    pub shards: Vec<TransactWriteItem>,
}

pub(super) fn change_guard(table: &str, key: &LicenseKey, cap_deltas: Option<&[i64]>) -> Result<ChangeGuard, ApiError> {
    let Some(count) = key.activation_shards else {
        return Ok(ChangeGuard {
            condition: format!("instances_count = :count AND {UNSHARDED}"),
            set: None,
            values: vec![(":count", n(key.instances_count))],
            shards: vec![],
        });
    };
    let epoch = key.shard_epoch.unwrap_or_default();
    let unchanged = vec![0; count as usize];
    let counter = activation_counter(&key_digest(&key.key));
    Ok(ChangeGuard {
        condition: "shard_epoch = :epoch".into(),
        set: Some("shard_epoch = :next_epoch"),
        values: vec![(":epoch", n(epoch)), (":next_epoch", n(epoch + 1))],
        shards: counter_shards::advance(table, &counter, cap_deltas.unwrap_or(&unchanged), epoch, epoch + 1)?,
    })
}

/// The key's active state as read, which an activation or heartbeat must still see.
const KEY_ACTIVE: &str = "disabled = :false AND grant_revoked = :false \
    AND (attribute_type(expires_at, :null) OR expires_at > :now)";

/// How an instance change moves the grant's copy of its key's activations.
enum GrantChange<'a> {
    Activate(&'a Instance, &'a Activation),
    Deactivate(&'a str),
    Extend(&'a str, i64),
}

/// The grant's copy of the key's count and leases, changed as the key's are.
fn grant_leases_update(
    store: &Store,
    key: &LicenseKey,
    change: GrantChange,
    now: &str,
) -> Result<Option<TransactWriteItem>, ApiError> {
    let Some(grant_id) = &key.grant_id else { return Ok(None) };
    let leased = key.leases.is_some();
    let mut ex = Expression::default();
    ex.value(":now", s(now));
    ex.value(":map", s("M"));
    ex.value(":zero", n(0));
    ex.value(":one", n(1));
    let mut sets = vec![
        "updated_at = :now".to_string(),
        "rev = if_not_exists(rev, :zero) + :one".to_string(),
    ];
    let mut removes = vec![];
    match change {
        GrantChange::Activate(instance, plan) => {
            let delta = ex.value(":delta", n(1 - plan.reclaim.len() as i64));
            sets.push(format!(
                "license_key.activations_used = license_key.activations_used + {delta}"
            ));
            if let (true, Some(until)) = (leased, plan.lease_until_ms) {
                let id = ex.name("#new".into(), &instance.id);
                let until = ex.value(":until", n(until));
                sets.push(format!("license_key.leases.{id} = {until}"));
                for (i, (reclaimed, _)) in plan.reclaim.iter().enumerate() {
                    removes.push(format!("license_key.leases.{}", ex.name(format!("#r{i}"), reclaimed)));
                }
            }
        }
        GrantChange::Deactivate(instance_id) => {
            let delta = ex.value(":delta", n(-1));
            sets.push(format!(
                "license_key.activations_used = license_key.activations_used + {delta}"
            ));
            if leased {
                removes.push(format!("license_key.leases.{}", ex.name("#id".into(), instance_id)));
            }
        }
        GrantChange::Extend(instance_id, until) => {
            let id = ex.name("#id".into(), instance_id);
            let until = ex.value(":until", n(until));
            sets.push(format!("license_key.leases.{id} = {until}"));
        }
    }
    let mut expression = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    let update = ex
        .apply(Update::builder())
        .table_name(&store.table)
        .set_key(Some(grant_key(&key.business_id, grant_id)))
        .update_expression(expression)
        .condition_expression("attribute_type(license_key, :map)")
        .build()
        .map_err(ApiError::internal)?;
    Ok(Some(TransactWriteItem::builder().update(update).build()))
}

/// The grant's copy of its key: `set` to `:value` (and `remove` removed), as
/// a change of the grant, so its `updated_at` and `rev` move.
fn grant_copy_update(
    store: &Store,
    key: &LicenseKey,
    set: &str,
    value: AttributeValue,
    remove: Option<&str>,
    now: &str,
) -> Result<Option<TransactWriteItem>, ApiError> {
    let Some(grant_id) = &key.grant_id else { return Ok(None) };
    let mut expression = format!("SET {set} = :value, updated_at = :now, rev = if_not_exists(rev, :zero) + :one");
    if let Some(remove) = remove {
        expression.push_str(&format!(" REMOVE {remove}"));
    }
    let update = Update::builder()
        .table_name(&store.table)
        .set_key(Some(grant_key(&key.business_id, grant_id)))
        .update_expression(expression)
        .condition_expression("attribute_type(license_key, :map)")
        .expression_attribute_values(":value", value)
        .expression_attribute_values(":now", s(now))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":map", s("M"))
        .build()
        .map_err(ApiError::internal)?;
    Ok(Some(TransactWriteItem::builder().update(update).build()))
}

/// What `GET /license_keys` filters on, checked and in stored form.
pub struct KeyQuery<'a> {
    pub customer_id: Option<&'a str>,
    pub status: Option<LicenseKeyStatus>,
    pub product_id: Option<&'a str>,
    pub source: Option<KeySource>,
    pub created_from: Option<String>,
    pub created_until: Option<String>,
}

pub struct KeyPage {
    pub items: Vec<LicenseKey>,
    pub next_cursor: Option<String>,
}

pub struct InstancePage {
    pub items: Vec<Instance>,
    pub next_cursor: Option<String>,
}

impl Written {
    /// The key as it alone refused an activation (its update comes first).
    pub fn key_that_refused_activation(&self) -> Result<Option<LicenseKey>, ApiError> {
        self.refused_only_by(0)
    }
}

impl Store {
    /// The business holding a key of this value, if one is stored (its count not read).
    pub async fn license_key_owner(&self, key_value: &str) -> Result<Option<String>, ApiError> {
        Ok(self
            .get_item(license_key_key(&key_digest(key_value)), true)
            .await?
            .and_then(|item| item.get("business_id").and_then(|v| v.as_s().ok()).cloned()))
    }

    pub async fn license_key_by_value(&self, key_value: &str) -> Result<Option<LicenseKey>, ApiError> {
        let key = self.get_as(license_key_key(&key_digest(key_value)), true).await?;
        self.counted(key).await
    }

    pub async fn license_key_by_id(&self, business_id: &str, id: &str) -> Result<Option<LicenseKey>, ApiError> {
        let pointer = self.get_item(pointer_key(id), false).await?;
        let text = |name: &str| {
            pointer
                .as_ref()
                .and_then(|i| i.get(name))
                .and_then(|v| v.as_s().ok())
                .cloned()
        };
        match (text("business_id"), text("key_digest")) {
            (Some(owner), Some(digest)) if owner == business_id => {
                let key = self.get_as(license_key_key(&digest), true).await?;
                self.counted(key).await
            }
            _ => Ok(None),
        }
    }

    /// Stores an imported key; `Refused` when the key is already in use anywhere.
    pub async fn import_license_key(
        &self,
        license_key: &LicenseKey,
        events: &[Event],
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let [item, pointer] = license_key_items(license_key)?;
        let mut actions = vec![put_new(&self.table, item)?, put_new(&self.table, pointer)?];
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    /// Applies `changes` if the key is as `current` was read (its activations and
    /// its grant's revocation), so the grant's copy is written from the truth;
    /// `Refused` carries the key as it is.
    /// A sharded key's shards move their caps by `cap_deltas` (none: unchanged).
    pub async fn update_license_key(
        &self,
        current: &LicenseKey,
        changes: &KeyChanges,
        cap_deltas: Option<&[i64]>,
        now: &str,
        events: &[Event],
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let guard = change_guard(&self.table, current, cap_deltas)?;
        let mut sets = vec![];
        let mut grant_sets = vec![
            "updated_at = :now".to_string(),
            "rev = if_not_exists(rev, :zero) + :one".to_string(),
        ];
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(license_key_key(&key_digest(&current.key))))
            .expression_attribute_values(":business", s(&current.business_id))
            .expression_attribute_values(":revoked", AttributeValue::Bool(current.grant_revoked));
        for (name, value) in guard.values {
            update = update.expression_attribute_values(name, value);
        }
        let mut grant_update = Update::builder()
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1));
        let condition = format!(
            "business_id = :business AND {} AND grant_revoked = :revoked",
            guard.condition
        );
        if let Some(limit) = changes.activations_limit {
            let value = limit.map_or(AttributeValue::Null(true), n);
            sets.push("activations_limit = :limit");
            grant_sets.push("license_key.activations_limit = :limit".into());
            update = update.expression_attribute_values(":limit", value.clone());
            grant_update = grant_update.expression_attribute_values(":limit", value);
        }
        if let Some(expires_at) = &changes.expires_at {
            let value = expires_at.as_ref().map_or(AttributeValue::Null(true), s);
            sets.push("expires_at = :expires");
            grant_sets.push("license_key.expires_at = :expires".into());
            update = update.expression_attribute_values(":expires", value.clone());
            grant_update = grant_update.expression_attribute_values(":expires", value);
        }
        if let Some(disabled) = changes.disabled {
            sets.push("disabled = :disabled");
            update = update.expression_attribute_values(":disabled", AttributeValue::Bool(disabled));
            let status = changes.grant_copy_status(current);
            grant_sets.push("license_key.#key_status = :key_status".into());
            grant_update = grant_update
                .expression_attribute_names("#key_status", "status")
                .expression_attribute_values(":key_status", to_attribute(&status)?);
        }
        if sets.is_empty() {
            return Ok(Written::Done);
        }
        sets.extend(guard.set);
        let update = update
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(ApiError::internal)?;
        let mut actions = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(grant_id) = &current.grant_id {
            let grant_update = grant_update
                .table_name(&self.table)
                .set_key(Some(grant_key(&current.business_id, grant_id)))
                .update_expression(format!("SET {}", grant_sets.join(", ")))
                .condition_expression("attribute_type(license_key, :map)")
                .expression_attribute_values(":map", s("M"))
                .build()
                .map_err(ApiError::internal)?;
            actions.push(TransactWriteItem::builder().update(grant_update).build());
        }
        actions.extend(guard.shards);
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    /// Splits the key's activation count over `shards` (its count and limit as
    /// read, split): the key is guarded on both, so no unit is lost or made.
    pub async fn split_activations(
        &self,
        key: &LicenseKey,
        shards: &[Shard],
        now: &str,
        events: &[Event],
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let digest = key_digest(&key.key);
        let epoch = key.shard_epoch.unwrap_or_default() + 1;
        let limit = match key.activations_limit {
            Some(limit) => ("activations_limit = :limit", n(limit)),
            None => ("attribute_type(activations_limit, :limit)", s("NULL")),
        };
        let root = Update::builder()
            .table_name(&self.table)
            .set_key(Some(license_key_key(&digest)))
            .update_expression("SET activation_shards = :shards, shard_epoch = :epoch")
            // The epoch as read too: a split decided before a split and merge
            // since must not bring back an epoch older activations read.
            .condition_expression(format!(
                "{UNSHARDED} AND attribute_not_exists(leases) AND instances_count = :count AND {} \
                 AND (attribute_not_exists(shard_epoch) OR shard_epoch = :was)",
                limit.0
            ))
            .expression_attribute_values(":was", n(epoch - 1))
            .expression_attribute_values(":shards", n(shards.len()))
            .expression_attribute_values(":epoch", n(epoch))
            .expression_attribute_values(":count", n(key.instances_count))
            .expression_attribute_values(":limit", limit.1)
            .build()
            .map_err(ApiError::internal)?;
        let mut actions = vec![TransactWriteItem::builder().update(root).build()];
        actions.extend(counter_shards::create(
            &self.table,
            &activation_counter(&digest),
            shards,
            epoch,
        )?);
        // The grant's copy of the count is added up from the shards while
        // they hold it; a change of the grant read before this one fails.
        actions.extend(grant_copy_update(
            self,
            key,
            "license_key.activation_shards",
            n(shards.len()),
            None,
            now,
        )?);
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    /// Merges a sharded key's count back into the key: each shard as read is
    /// deleted on that condition and what they used is the key's count, and
    /// its grant's copy, again.
    pub async fn merge_activations(
        &self,
        key: &LicenseKey,
        shards: &[Shard],
        now: &str,
        events: &[Event],
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let digest = key_digest(&key.key);
        let epoch = key.shard_epoch.unwrap_or_default();
        let used = crate::domain::shards::total_used(shards);
        let root = Update::builder()
            .table_name(&self.table)
            .set_key(Some(license_key_key(&digest)))
            .update_expression("SET instances_count = :used, shard_epoch = :next REMOVE activation_shards")
            .condition_expression("activation_shards = :shards AND shard_epoch = :epoch")
            .expression_attribute_values(":used", n(used))
            .expression_attribute_values(":next", n(epoch + 1))
            .expression_attribute_values(":shards", n(shards.len()))
            .expression_attribute_values(":epoch", n(epoch))
            .build()
            .map_err(ApiError::internal)?;
        let mut actions = vec![TransactWriteItem::builder().update(root).build()];
        actions.extend(counter_shards::delete(
            &self.table,
            &activation_counter(&digest),
            shards,
            epoch,
        )?);
        actions.extend(grant_copy_update(
            self,
            key,
            "license_key.activations_used",
            n(used),
            Some("license_key.activation_shards"),
            now,
        )?);
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    /// The shards of a sharded key as they are now (none for another key).
    pub async fn activation_shards(&self, key: &LicenseKey) -> Result<Vec<Shard>, ApiError> {
        let Some(count) = key.activation_shards else {
            return Ok(vec![]);
        };
        let shards = self.shards(&activation_counter(&key_digest(&key.key)), count).await?;
        Ok(shards.iter().map(|s| s.shard()).collect())
    }

    /// Gives free units of one shard of a sharded key to another.
    pub async fn rebalance_activations(
        &self,
        key: &LicenseKey,
        change: crate::domain::shards::Move,
    ) -> Result<Written, ApiError> {
        let counter = activation_counter(&key_digest(&key.key));
        let gather = crate::domain::shards::Gather {
            to: change.to,
            from: vec![(change.from, change.units)],
        };
        self.gather_units(&counter, key.shard_epoch.unwrap_or_default(), &gather, false)
            .await
    }

    /// A sharded key's count is what its shards used; any other key as stored.
    pub(super) async fn counted(&self, key: Option<LicenseKey>) -> Result<Option<LicenseKey>, ApiError> {
        let Some(mut key) = key else { return Ok(None) };
        if key.activation_shards.is_some() {
            key.instances_count = crate::domain::shards::total_used(&self.activation_shards(&key).await?);
        }
        key.instances_count = crate::failpoints::count_read(&key.id, key.instances_count);
        Ok(Some(key))
    }

    /// One more activation of `key` if it is active and under its limit at `now`.
    /// A key without leases guards its count against its limit; a leased key
    /// guards the count and leases it read, from which `plan` was computed, and
    /// removes the expired instances `plan` reclaims. `holder` is the instance a
    /// device item named when read (the item is replaced only if it still does).
    /// A sharded key's unit comes from shard `shard` instead, under the key's
    /// state as read; either way the count is action 0.
    pub async fn activate(&self, write: ActivationWrite<'_>) -> Result<Written, ApiError> {
        let ActivationWrite {
            key,
            instance,
            plan,
            shard,
            holder,
            now,
            events,
            answer,
        } = write;
        let count = match key.activation_shards {
            Some(_) => counter_shards::take(
                &self.table,
                &activation_counter(&instance.key_digest),
                shard,
                key.shard_epoch.unwrap_or_default(),
                1,
            )?,
            None => self.activation_count(key, instance, plan, now)?,
        };
        let mut item = to_item(instance)?;
        item.extend(instance_key(&instance.id));
        item.insert("key_digest".into(), s(&instance.key_digest));
        if let Some(subject) = &instance.event_subject {
            item.insert("event_subject".into(), s(subject));
        }
        if let Some(grant_id) = &key.grant_id {
            item.insert("grant_id".into(), s(grant_id));
        }
        item.insert("gsi1pk".into(), s(format!("LK#{}#LKI", instance.license_key_id)));
        item.insert("gsi1sk".into(), s(&instance.id));
        item.insert("gsi2pk".into(), s(format!("BIZ#{}#LKI", instance.business_id)));
        item.insert("gsi2sk".into(), s(&instance.id));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let mut actions = vec![count, TransactWriteItem::builder().put(put).build()];
        if let Some(fingerprint) = &instance.fingerprint {
            let mut device = device_key(&instance.key_digest, fingerprint);
            device.insert("instance_id".into(), s(&instance.id));
            let condition = match holder {
                None => ("attribute_not_exists(pk)", vec![]),
                Some(stale) => ("instance_id = :stale", vec![(":stale", s(stale))]),
            };
            actions.push(super::put(&self.table, device, Some(condition))?);
        }
        for (id, _) in &plan.reclaim {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(instance_key(id)))
                .build()
                .map_err(ApiError::internal)?;
            actions.push(TransactWriteItem::builder().delete(delete).build());
        }
        if key.activation_shards.is_none() {
            actions.extend(grant_leases_update(
                self,
                key,
                GrantChange::Activate(instance, plan),
                now,
            )?);
        }
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    /// One more on an unsharded key's own count (see `activate`).
    fn activation_count(
        &self,
        key: &LicenseKey,
        instance: &Instance,
        plan: &Activation,
        now: &str,
    ) -> Result<TransactWriteItem, ApiError> {
        let mut ex = Expression::default();
        ex.value(":false", AttributeValue::Bool(false));
        ex.value(":null", s("NULL"));
        ex.value(":now", s(now));
        let (update_expression, condition) = match (&key.leases, plan.lease_until_ms) {
            (Some(_), Some(until)) => {
                let count = ex.value(":count", n(key.instances_count));
                let after = ex.value(":after", n(key.instances_count - plan.reclaim.len() as i64 + 1));
                let new = ex.name("#new".into(), &instance.id);
                let until = ex.value(":until", n(until));
                let mut condition = format!("{KEY_ACTIVE} AND {UNSHARDED} AND instances_count = {count}");
                match key.activations_limit {
                    Some(limit) => {
                        let limit = ex.value(":limit", n(limit));
                        condition.push_str(&format!(" AND activations_limit = {limit}"));
                    }
                    None => condition.push_str(" AND attribute_type(activations_limit, :null)"),
                }
                let mut removed = vec![];
                for (i, (id, until)) in plan.reclaim.iter().enumerate() {
                    let name = ex.name(format!("#r{i}"), id);
                    let value = ex.value(&format!(":r{i}"), n(until));
                    condition.push_str(&format!(" AND leases.{name} = {value}"));
                    removed.push(format!("leases.{name}"));
                }
                let mut update = format!("SET instances_count = {after}, leases.{new} = {until}");
                if !removed.is_empty() {
                    update.push_str(&format!(" REMOVE {}", removed.join(", ")));
                }
                (update, condition)
            }
            _ => {
                ex.value(":one", n(1));
                (
                    "SET instances_count = instances_count + :one".to_string(),
                    format!(
                        "{KEY_ACTIVE} AND {UNSHARDED} AND (attribute_type(activations_limit, :null) \
                         OR instances_count < activations_limit)"
                    ),
                )
            }
        };
        let count = ex
            .apply(Update::builder())
            .table_name(&self.table)
            .set_key(Some(license_key_key(&instance.key_digest)))
            .update_expression(update_expression)
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(ApiError::internal)?;
        Ok(TransactWriteItem::builder().update(count).build())
    }

    /// The key and `others` of its items as they were at one instant, a
    /// sharded key's count summed from its shards in the same read.
    async fn key_at_once(
        &self,
        digest: &str,
        others: Vec<Item>,
    ) -> Result<(Option<LicenseKey>, Vec<Option<Item>>), ApiError> {
        let counter = activation_counter(digest);
        let read = self
            .with_shards(license_key_key(digest), others, |key: &LicenseKey| {
                key.activation_shards
                    .map(|count| (counter.clone(), count))
                    .into_iter()
                    .collect()
            })
            .await?;
        let used = read.used(&counter);
        let key = read.item.map(|mut key| {
            if let Some(used) = used {
                key.instances_count = used;
            }
            key.instances_count = crate::failpoints::count_read(&key.id, key.instances_count);
            key
        });
        Ok((key, read.others))
    }

    /// The key and the instance a device holds on it, all read at one instant,
    /// so a limit reached is one the key had. The claim names the instance,
    /// so a claimed device is read again with it: a deactivation between two
    /// reads would plan a new device on a count that still held the old one.
    pub async fn read_for_activation(
        &self,
        license_key: &str,
        fingerprint: Option<&str>,
    ) -> Result<ActivationRead, ApiError> {
        let digest = key_digest(license_key);
        let device = fingerprint.map(|fingerprint| device_key(&digest, fingerprint));
        // The instance read with the claim; the answer stands once the claim names it.
        let mut holder: Option<String> = None;
        // A third read or more only if the device was activated again meanwhile.
        for _ in 0..5 {
            let wanted = device.iter().cloned().chain(holder.as_deref().map(instance_key));
            let (key, others) = self.key_at_once(&digest, wanted.collect()).await?;
            let mut others = others.into_iter();
            let claim = claimed_instance(others.next().flatten());
            if claim == holder {
                let held = others.next().flatten().map(from_item).transpose()?;
                return Ok(ActivationRead { key, holder, held });
            }
            holder = claim;
        }
        Err(ApiError::unavailable("a device was activated again during every read"))
    }

    /// The key named by its value and, when asked, an instance, as they were
    /// at one instant.
    pub async fn key_and_instance(
        &self,
        license_key: &str,
        instance_id: Option<&str>,
    ) -> Result<(Option<LicenseKey>, Option<Instance>), ApiError> {
        let digest = key_digest(license_key);
        let wanted = instance_id.map(instance_key);
        let (key, others) = self.key_at_once(&digest, wanted.into_iter().collect()).await?;
        let instance = others.into_iter().flatten().next().map(from_item).transpose()?;
        Ok((key, instance))
    }

    /// Moves a leased instance's end to `until_ms` (`expires_at`) if it is still
    /// live at `now` and its key still active.
    pub async fn extend_lease(
        &self,
        key: &LicenseKey,
        instance: &Instance,
        until_ms: i64,
        expires_at: &str,
        now: &str,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let digest = key_digest(&key.key);
        let lease = Update::builder()
            .table_name(&self.table)
            .set_key(Some(instance_key(&instance.id)))
            .update_expression("SET expires_at = :expires")
            .condition_expression("key_digest = :digest AND expires_at > :now")
            .expression_attribute_values(":expires", s(expires_at))
            .expression_attribute_values(":digest", s(&digest))
            .expression_attribute_values(":now", s(now))
            .build()
            .map_err(ApiError::internal)?;
        let on_key = Update::builder()
            .table_name(&self.table)
            .set_key(Some(license_key_key(&digest)))
            .update_expression("SET leases.#id = :until")
            .condition_expression(format!("attribute_exists(leases.#id) AND {KEY_ACTIVE}"))
            .expression_attribute_names("#id", &instance.id)
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":null", s("NULL"))
            .expression_attribute_values(":now", s(now))
            .build()
            .map_err(ApiError::internal)?;
        let mut actions = vec![
            TransactWriteItem::builder().update(lease).build(),
            TransactWriteItem::builder().update(on_key).build(),
        ];
        actions.extend(grant_leases_update(
            self,
            key,
            GrantChange::Extend(&instance.id, until_ms),
            now,
        )?);
        self.commit(actions, answer).await
    }

    /// Removes the instance and gives its slot back (to shard `shard` of a
    /// sharded key); `Refused` at 0 when the instance is not (or no longer) one
    /// of this key's, at 1 when the count is not as read.
    pub async fn deactivate(
        &self,
        key: &LicenseKey,
        instance_id: &str,
        shard: u32,
        now: &str,
        events: &[Event],
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let digest = key_digest(&key.key);
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(instance_key(instance_id)))
            .condition_expression("key_digest = :digest")
            .expression_attribute_values(":digest", s(&digest))
            .build()
            .map_err(ApiError::internal)?;
        let count = match key.activation_shards {
            Some(_) => counter_shards::give_back(
                &self.table,
                &activation_counter(&digest),
                shard,
                key.shard_epoch.unwrap_or_default(),
                1,
            )?,
            None => {
                let count = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(license_key_key(&digest)))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":zero", n(0));
                let count = if key.leases.is_some() {
                    count
                        .update_expression("SET instances_count = instances_count - :one REMOVE leases.#id")
                        .condition_expression(format!(
                            "instances_count > :zero AND attribute_exists(leases.#id) AND {UNSHARDED}"
                        ))
                        .expression_attribute_names("#id", instance_id)
                } else {
                    count
                        .update_expression("SET instances_count = instances_count - :one")
                        .condition_expression(format!("instances_count > :zero AND {UNSHARDED}"))
                };
                TransactWriteItem::builder()
                    .update(count.build().map_err(ApiError::internal)?)
                    .build()
            }
        };
        let mut actions = vec![TransactWriteItem::builder().delete(delete).build(), count];
        if key.activation_shards.is_none() {
            actions.extend(grant_leases_update(
                self,
                key,
                GrantChange::Deactivate(instance_id),
                now,
            )?);
        }
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    pub async fn instance(&self, id: &str) -> Result<Option<Instance>, ApiError> {
        self.get_as(instance_key(id), false).await
    }

    /// Instances by id, read strongly in one round trip (none for no ids).
    pub async fn instances_by_id(&self, ids: impl Iterator<Item = &str>) -> Result<Vec<Instance>, ApiError> {
        let keys: Vec<Item> = ids.map(instance_key).collect();
        if keys.is_empty() {
            return Ok(vec![]);
        }
        self.get_many(keys).await?.into_iter().map(from_item).collect()
    }

    /// The instance read strongly, for a change that must see the latest activation.
    pub async fn instance_for_change(&self, id: &str) -> Result<Option<Instance>, ApiError> {
        self.get_as(instance_key(id), true).await
    }

    /// Renames the business's instance; `Refused` when it is not (or no longer) there.
    pub async fn rename_instance(
        &self,
        business_id: &str,
        id: &str,
        name: &str,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(instance_key(id)))
            .update_expression("SET #name = :name")
            .condition_expression("business_id = :business")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(name))
            .expression_attribute_values(":business", s(business_id))
            .build()
            .map_err(ApiError::internal)?;
        self.commit(vec![TransactWriteItem::builder().update(update).build()], answer)
            .await
    }

    pub async fn list_license_keys(
        &self,
        business_id: &str,
        query: &KeyQuery<'_>,
        now: &str,
        page: &PageRequest,
    ) -> Result<KeyPage, ApiError> {
        let status = query.status;
        let live = "disabled = :false AND grant_revoked = :false";
        let values = |extra: bool| {
            let mut v = vec![(":false".to_string(), AttributeValue::Bool(false))];
            if extra {
                v.push((":now".to_string(), s(now)));
                v.push((":null".to_string(), s("NULL")));
            }
            v
        };
        let filter = match status {
            None => Filter::default(),
            Some(LicenseKeyStatus::Disabled) => {
                Filter::default().raw("NOT (disabled = :false AND grant_revoked = :false)", &[], values(false))
            }
            Some(LicenseKeyStatus::Expired) => Filter::default().raw(
                &format!("{live} AND NOT attribute_type(expires_at, :null) AND expires_at <= :now"),
                &[],
                values(true),
            ),
            Some(LicenseKeyStatus::Active) => Filter::default().raw(
                &format!("{live} AND (attribute_type(expires_at, :null) OR expires_at > :now)"),
                &[],
                values(true),
            ),
        };
        let mut filter = filter;
        if let Some(product) = query.product_id {
            filter = filter.eq("product_id", s(product));
        }
        if let Some(source) = query.source {
            filter = filter.eq("source", to_attribute(&source)?);
        }
        // `created_at` is stored in one fixed-width form, so text order is time order.
        if let Some(from) = &query.created_from {
            filter = filter.raw(
                "created_at >= :created_from",
                &[],
                vec![(":created_from".into(), s(from))],
            );
        }
        if let Some(until) = &query.created_until {
            filter = filter.raw(
                "created_at <= :created_until",
                &[],
                vec![(":created_until".into(), s(until))],
            );
        }
        let range = match query.customer_id {
            Some(customer) => KeyRange::index("gsi2", keys_of_customer(business_id, customer)).filtered(filter),
            None => KeyRange::index("gsi1", keys_of_business(business_id)).filtered(filter),
        };
        let PageOfItems { items, next_cursor } = self.query_page(range, page).await?;
        let mut keys = Vec::with_capacity(items.len());
        for item in items {
            keys.extend(self.counted(Some(from_item(item)?)).await?);
        }
        Ok(KeyPage {
            items: keys,
            next_cursor,
        })
    }

    /// Instances of one key (`license_key_id`), or of the whole business.
    pub async fn list_instances(
        &self,
        business_id: &str,
        license_key_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<InstancePage, ApiError> {
        let range = match license_key_id {
            Some(id) => KeyRange::index("gsi1", format!("LK#{id}#LKI"))
                .filtered(Filter::default().eq("business_id", s(business_id))),
            None => KeyRange::index("gsi2", format!("BIZ#{business_id}#LKI")),
        };
        let PageOfItems { items, next_cursor } = self.query_page(range, page).await?;
        Ok(InstancePage {
            items: items.into_iter().map(from_item).collect::<Result<_, _>>()?,
            next_cursor,
        })
    }
}
