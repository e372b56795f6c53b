//! Entitlements: `pk = BIZ#<business>`, `sk = ENT#<id>`, so another business's id
//! simply misses. Active ones are also in two sparse index ranges, all of the
//! business's (`gsi1`) and those of one integration type (`gsi2`); a soft delete
//! takes them out of both, so lists never read deleted items.

use super::paging::{KeyRange, PageOfItems};
use super::{from_item, key, put_new, s, to_attribute, to_item, AnswerRecord, PageRequest, Store, Written};
use crate::domain::entitlement::{Entitlement, EntitlementChanges, IntegrationType};
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

pub(super) fn entitlement_sort(id: &str) -> String {
    format!("ENT#{id}")
}

pub(super) fn entitlement_key(business_id: &str, id: &str) -> super::Item {
    key(format!("BIZ#{business_id}"), entitlement_sort(id))
}

fn all_range(business_id: &str) -> String {
    format!("BIZ#{business_id}#ENT")
}

fn type_range(business_id: &str, integration_type: IntegrationType) -> String {
    format!("BIZ#{business_id}#ENT#{}", integration_type.as_str())
}

pub struct EntitlementPage {
    pub items: Vec<Entitlement>,
    pub next_cursor: Option<String>,
}

impl Store {
    pub async fn create_entitlement(
        &self,
        entitlement: &Entitlement,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut item = to_item(entitlement)?;
        item.extend(entitlement_key(&entitlement.business_id, &entitlement.id));
        item.insert("gsi1pk".into(), s(all_range(&entitlement.business_id)));
        item.insert("gsi1sk".into(), s(&entitlement.id));
        item.insert(
            "gsi2pk".into(),
            s(type_range(&entitlement.business_id, entitlement.integration_type)),
        );
        item.insert("gsi2sk".into(), s(&entitlement.id));
        self.commit(vec![put_new(&self.table, item)?], answer).await
    }

    /// The entitlement, deleted ones included (grants still refer to them).
    pub async fn entitlement(&self, business_id: &str, id: &str) -> Result<Option<Entitlement>, ApiError> {
        self.get_as(entitlement_key(business_id, id), false).await
    }

    /// The business's entitlements of `ids` (deleted ones included), 100 to a read.
    pub async fn entitlements_by_id(&self, business_id: &str, ids: &[&str]) -> Result<Vec<Entitlement>, ApiError> {
        let keys = ids.iter().map(|id| entitlement_key(business_id, id)).collect();
        self.get_all_as(keys).await
    }

    /// Writes the named fields if the entitlement is still active and unchanged
    /// since `current` was read; `Refused` otherwise.
    pub async fn update_entitlement(
        &self,
        current: &Entitlement,
        changes: &EntitlementChanges,
        now: &str,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut sets = vec!["updated_at = :updated_at"];
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(entitlement_key(&current.business_id, &current.id)))
            .condition_expression("is_active = :true AND updated_at = :seen")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":seen", s(&current.updated_at))
            .expression_attribute_values(":updated_at", s(now));
        if let Some(name) = &changes.name {
            sets.push("#name = :name");
            update = update
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name));
        }
        if let Some(description) = &changes.description {
            sets.push("description = :description");
            update = update.expression_attribute_values(
                ":description",
                description.as_ref().map_or(AttributeValue::Null(true), s),
            );
        }
        if let Some(config) = &changes.integration_config {
            sets.push("integration_config = :config");
            update = update.expression_attribute_values(":config", to_attribute(config)?);
        }
        if let Some(metadata) = &changes.metadata {
            sets.push("metadata = :metadata");
            update = update.expression_attribute_values(":metadata", to_attribute(metadata)?);
        }
        let update = update
            .update_expression(format!("SET {}", sets.join(", ")))
            .build()
            .map_err(ApiError::internal)?;
        self.commit(vec![TransactWriteItem::builder().update(update).build()], answer)
            .await
    }

    /// Soft delete: inactive and out of the list ranges. `Refused` when there was no active one.
    pub async fn deactivate_entitlement(
        &self,
        business_id: &str,
        id: &str,
        now: &str,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(entitlement_key(business_id, id)))
            .update_expression("SET is_active = :false, updated_at = :now REMOVE gsi1pk, gsi1sk, gsi2pk, gsi2sk")
            .condition_expression("is_active = :true")
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":now", s(now))
            .build()
            .map_err(ApiError::internal)?;
        self.commit(vec![TransactWriteItem::builder().update(update).build()], answer)
            .await
    }

    /// Active entitlements, newest first, optionally of one integration type.
    pub async fn list_entitlements(
        &self,
        business_id: &str,
        integration_type: Option<IntegrationType>,
        page: &PageRequest,
    ) -> Result<EntitlementPage, ApiError> {
        let range = match integration_type {
            None => KeyRange::index("gsi1", all_range(business_id)),
            Some(t) => KeyRange::index("gsi2", type_range(business_id, t)),
        };
        let PageOfItems { items, next_cursor } = self.query_page(range, page).await?;
        let items = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(EntitlementPage { items, next_cursor })
    }
}
