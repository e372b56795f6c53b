//! An entitlement's translations: `pk = BIZ#<business>`, `sk =
//! ENT#<entitlement>#TR#<locale>`, beside the entitlement, so its 22 at most
//! are one Query and a read in a locale one more key in the same batch.

use super::entitlements::entitlement_key;
use super::paging::{KeyRange, PageOfItems};
use super::{from_item, key, put, s, to_item, AnswerRecord, Item, PageRequest, Store, Written};
use crate::domain::entitlement::Entitlement;
use crate::domain::translation::{EntitlementTranslation, Locale};
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem};

fn prefix(entitlement_id: &str) -> String {
    format!("ENT#{entitlement_id}#TR#")
}

fn translation_key(business_id: &str, entitlement_id: &str, locale: Locale) -> Item {
    key(
        format!("BIZ#{business_id}"),
        format!("{}{}", prefix(entitlement_id), locale.as_str()),
    )
}

impl Store {
    /// The entitlement's translation in `locale`, if it has one.
    pub async fn translation(
        &self,
        business_id: &str,
        entitlement_id: &str,
        locale: Locale,
    ) -> Result<Option<EntitlementTranslation>, ApiError> {
        self.get_as(translation_key(business_id, entitlement_id, locale), true)
            .await
    }

    /// Every translation of the entitlement, in the order of their codes.
    pub async fn translations(
        &self,
        business_id: &str,
        entitlement_id: &str,
    ) -> Result<Vec<EntitlementTranslation>, ApiError> {
        let range = KeyRange::table(format!("BIZ#{business_id}")).ascending_from(Some(&prefix(entitlement_id)));
        let PageOfItems { items, .. } = self.query_page(range, &PageRequest::first(Locale::ALL.len())).await?;
        items.into_iter().map(from_item).collect()
    }

    /// The translations in `locale` of the entitlements of `ids`, by entitlement id.
    pub async fn translations_in(
        &self,
        business_id: &str,
        ids: &[&str],
        locale: Locale,
    ) -> Result<Vec<(String, EntitlementTranslation)>, ApiError> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let keys = chunk
                .iter()
                .map(|id| translation_key(business_id, id, locale))
                .collect();
            for item in self.get_many(keys).await? {
                let sort_key = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let id = sort_key
                    .strip_prefix("ENT#")
                    .and_then(|rest| rest.split_once("#TR#"))
                    .map(|(id, _)| id.to_string())
                    .unwrap_or_default();
                found.push((id, from_item(item)?));
            }
        }
        Ok(found)
    }

    /// Writes the translation over `current` (as read; `None`: there was
    /// none) while the entitlement is active; `Refused` at 0 when it is not,
    /// at 1 when the translation changed since it was read.
    pub async fn put_translation(
        &self,
        entitlement: &Entitlement,
        current: Option<&EntitlementTranslation>,
        translation: &EntitlementTranslation,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut item = to_item(translation)?;
        item.extend(translation_key(
            &entitlement.business_id,
            &entitlement.id,
            translation.locale,
        ));
        let write = match current {
            None => put(&self.table, item, Some(("attribute_not_exists(pk)", vec![])))?,
            Some(seen) => put(
                &self.table,
                item,
                Some(("updated_at = :seen", vec![(":seen", s(&seen.updated_at))])),
            )?,
        };
        let actions = vec![entitlement_active(&self.table, entitlement)?, write];
        self.commit(actions, answer).await
    }

    /// Deletes the translation while the entitlement is active; `Refused` at
    /// 0 when it is not, at 1 when there is no such translation.
    pub async fn delete_translation(
        &self,
        entitlement: &Entitlement,
        locale: Locale,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(translation_key(&entitlement.business_id, &entitlement.id, locale)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let actions = vec![
            entitlement_active(&self.table, entitlement)?,
            TransactWriteItem::builder().delete(delete).build(),
        ];
        self.commit(actions, answer).await
    }
}

/// A check that the entitlement is still active (not deleted meanwhile).
fn entitlement_active(table: &str, entitlement: &Entitlement) -> Result<TransactWriteItem, ApiError> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(entitlement_key(&entitlement.business_id, &entitlement.id)))
        .condition_expression("is_active = :true")
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}
