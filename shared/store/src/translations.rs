//! Translations of what a business sells: an entitlement's (`pk = BIZ#<business>`,
//! `sk = ENT#<entitlement>#TR#<locale>`) and a credit entitlement's
//! (`sk = CENT#<id>#TR#<locale>`), each beside what it translates, so its 22 at
//! most are one Query and a read in a locale one more key in the same batch.

use super::paging::{KeyRange, PageOfItems};
use super::{from_item, key, put, s, to_item, AnswerRecord, Item, PageRequest, Store, Written};
use crate::domain::translation::{Locale, Translation};
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem};

/// What is translated: its business and its own item's sort key.
#[derive(Clone, Debug)]
pub struct Translated<'a> {
    business_id: &'a str,
    sort: String,
}

impl<'a> Translated<'a> {
    pub fn entitlement(business_id: &'a str, id: &str) -> Self {
        Self {
            business_id,
            sort: super::entitlements::entitlement_sort(id),
        }
    }

    pub fn credit_entitlement(business_id: &'a str, id: &str) -> Self {
        Self {
            business_id,
            sort: super::credits::entitlement_sort(id),
        }
    }

    fn prefix(&self) -> String {
        format!("{}#TR#", self.sort)
    }

    fn translation_key(&self, locale: Locale) -> Item {
        key(
            format!("BIZ#{}", self.business_id),
            format!("{}{}", self.prefix(), locale.as_str()),
        )
    }

    /// A check that what is translated is still active (not deleted meanwhile).
    fn still_active(&self, table: &str) -> Result<TransactWriteItem, ApiError> {
        let check = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(key(format!("BIZ#{}", self.business_id), &self.sort)))
            .condition_expression("is_active = :true")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .build()
            .map_err(ApiError::internal)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }
}

impl Store {
    /// The translation in `locale`, if there is one.
    pub async fn translation<T: Translation>(
        &self,
        of: &Translated<'_>,
        locale: Locale,
    ) -> Result<Option<T>, ApiError> {
        self.get_as(of.translation_key(locale), true).await
    }

    /// Every translation, in the order of their codes.
    pub async fn translations<T: Translation>(&self, of: &Translated<'_>) -> Result<Vec<T>, ApiError> {
        let range = KeyRange::table(format!("BIZ#{}", of.business_id)).ascending_from(Some(&of.prefix()));
        let PageOfItems { items, .. } = self.query_page(range, &PageRequest::first(Locale::ALL.len())).await?;
        items.into_iter().map(from_item).collect()
    }

    /// The translations in `locale` of several of one business's items, each
    /// with the index in `of` of the item it translates.
    pub async fn translations_in<T: Translation>(
        &self,
        of: &[Translated<'_>],
        locale: Locale,
    ) -> Result<Vec<(usize, T)>, ApiError> {
        let mut found = Vec::with_capacity(of.len());
        for (chunk_at, chunk) in of.chunks(100).enumerate() {
            let keys = chunk.iter().map(|t| t.translation_key(locale)).collect();
            for item in self.get_many(keys).await? {
                let sort_key = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let at = chunk.iter().position(|t| sort_key.starts_with(&t.prefix()));
                if let Some(at) = at {
                    found.push((chunk_at * 100 + at, from_item(item)?));
                }
            }
        }
        Ok(found)
    }

    /// Writes the translation over `current` (as read; `None`: there was
    /// none) while what it translates is active; `Refused` at 0 when that is
    /// not, at 1 when the translation changed since it was read.
    pub async fn put_translation<T: Translation>(
        &self,
        of: &Translated<'_>,
        current: Option<&T>,
        translation: &T,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut item = to_item(translation)?;
        item.extend(of.translation_key(translation.locale()));
        let write = match current {
            None => put(&self.table, item, Some(("attribute_not_exists(pk)", vec![])))?,
            Some(seen) => put(
                &self.table,
                item,
                Some(("updated_at = :seen", vec![(":seen", s(seen.updated_at()))])),
            )?,
        };
        let actions = vec![of.still_active(&self.table)?, write];
        self.commit(actions, answer).await
    }

    /// Deletes the translation while what it translates is active; `Refused`
    /// at 0 when that is not, at 1 when there is no such translation.
    pub async fn delete_translation(
        &self,
        of: &Translated<'_>,
        locale: Locale,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(of.translation_key(locale)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let actions = vec![
            of.still_active(&self.table)?,
            TransactWriteItem::builder().delete(delete).build(),
        ];
        self.commit(actions, answer).await
    }
}
