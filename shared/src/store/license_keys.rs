//! License keys and their instances (activations).
//!
//! - key: `pk = LK#<digest>` (see grants.rs); admin routes reach it through
//!   `pk = LKID#<id>`. Listed in `gsi1` per business and `gsi2` per customer.
//! - instance: `pk = LKI#<id>`; listed in `gsi1` per key and `gsi2` per business.
//!
//! An activation and a deactivation are each one transaction over the key's
//! count, the instance and the grant's copy of the count, so the two counts
//! always agree and the limit holds whatever runs at the same time.

use super::grants::{grant_key, license_key_key};
use super::paging::{Filter, KeyRange, PageOfItems};
use super::webhooks::event_puts;
use super::{from_item, key, n, put_new, s, to_attribute, to_item, AnswerRecord, Item, PageRequest, Store, Written};
use crate::domain::license_key::{key_digest, Instance, KeyChanges, LicenseKey, LicenseKeyStatus};
use crate::domain::webhook::Event;
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

fn instance_key(id: &str) -> Item {
    key(format!("LKI#{id}"), "LKI")
}

fn grant_count_update(
    store: &Store,
    key: &LicenseKey,
    delta: i64,
    now: &str,
) -> Result<Option<TransactWriteItem>, ApiError> {
    let Some(grant_id) = &key.grant_id else { return Ok(None) };
    let update = Update::builder()
        .table_name(&store.table)
        .set_key(Some(grant_key(&key.business_id, grant_id)))
        .update_expression(
            "SET license_key.activations_used = license_key.activations_used + :delta, updated_at = :now",
        )
        .condition_expression("attribute_type(license_key, :map)")
        .expression_attribute_values(":delta", n(delta))
        .expression_attribute_values(":map", s("M"))
        .expression_attribute_values(":now", s(now))
        .build()
        .map_err(ApiError::internal)?;
    Ok(Some(TransactWriteItem::builder().update(update).build()))
}

pub struct KeyPage {
    pub items: Vec<LicenseKey>,
    pub next_cursor: Option<String>,
}

pub struct InstancePage {
    pub items: Vec<Instance>,
    pub next_cursor: Option<String>,
}

impl Store {
    pub async fn license_key_by_id(&self, business_id: &str, id: &str) -> Result<Option<LicenseKey>, ApiError> {
        let pointer = self.get_item(key(format!("LKID#{id}"), "LKID"), false).await?;
        let text = |name: &str| {
            pointer
                .as_ref()
                .and_then(|i| i.get(name))
                .and_then(|v| v.as_s().ok())
                .cloned()
        };
        match (text("business_id"), text("key_digest")) {
            (Some(owner), Some(digest)) if owner == business_id => self.get_as(license_key_key(&digest), true).await,
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
        let [item, pointer] = super::grants::license_key_items(license_key)?;
        let mut actions = vec![put_new(&self.table, item)?, put_new(&self.table, pointer)?];
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    /// Applies `changes` if the key is as `current` was read (its activations and
    /// its grant's revocation), so the grant's copy is written from the truth;
    /// `Refused` carries the key as it is.
    pub async fn update_license_key(
        &self,
        current: &LicenseKey,
        changes: &KeyChanges,
        now: &str,
        events: &[Event],
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut sets = vec![];
        let mut grant_sets = vec!["updated_at = :now".to_string()];
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(license_key_key(&key_digest(&current.key))))
            .expression_attribute_values(":business", s(&current.business_id))
            .expression_attribute_values(":count", n(current.instances_count))
            .expression_attribute_values(":revoked", AttributeValue::Bool(current.grant_revoked));
        let mut grant_update = Update::builder().expression_attribute_values(":now", s(now));
        let condition = "business_id = :business AND instances_count = :count AND grant_revoked = :revoked";
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
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    /// One more activation of `key` if it is active and under its limit at `now`.
    pub async fn activate(
        &self,
        key: &LicenseKey,
        instance: &Instance,
        now: &str,
        events: &[Event],
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(license_key_key(&instance.key_digest)))
            .update_expression("SET instances_count = instances_count + :one")
            .condition_expression(
                "disabled = :false AND grant_revoked = :false \
                 AND (attribute_type(activations_limit, :null) OR instances_count < activations_limit) \
                 AND (attribute_type(expires_at, :null) OR expires_at > :now)",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":null", s("NULL"))
            .expression_attribute_values(":now", s(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(ApiError::internal)?;
        let mut item = to_item(instance)?;
        item.extend(instance_key(&instance.id));
        item.insert("key_digest".into(), s(&instance.key_digest));
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
        let mut actions = vec![
            TransactWriteItem::builder().update(count).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        actions.extend(grant_count_update(self, key, 1, now)?);
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    /// Removes the instance and gives its slot back; `Refused` when the instance is
    /// not (or no longer) one of this key's.
    pub async fn deactivate(
        &self,
        key: &LicenseKey,
        instance_id: &str,
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
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(license_key_key(&digest)))
            .update_expression("SET instances_count = instances_count - :one")
            .condition_expression("instances_count > :zero")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(ApiError::internal)?;
        let mut actions = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        actions.extend(grant_count_update(self, key, -1, now)?);
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    pub async fn instance(&self, id: &str) -> Result<Option<Instance>, ApiError> {
        self.get_as(instance_key(id), false).await
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
        customer_id: Option<&str>,
        status: Option<LicenseKeyStatus>,
        now: &str,
        page: &PageRequest,
    ) -> Result<KeyPage, ApiError> {
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
        let range = match customer_id {
            Some(customer) => KeyRange::index("gsi2", format!("BIZ#{business_id}#CUST#{customer}#LK")).filtered(filter),
            None => KeyRange::index("gsi1", format!("BIZ#{business_id}#LK")).filtered(filter),
        };
        let PageOfItems { items, next_cursor } = self.query_page(range, page).await?;
        Ok(KeyPage {
            items: items.into_iter().map(from_item).collect::<Result<_, _>>()?,
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
