//! The files of a digital_files entitlement (their bytes are in S3):
//!
//! - a file: `pk = BIZ#<business>`, `sk = ENT#<entitlement>#FILE#<file id>`,
//!   beside its entitlement, read by the ids its config names (one batch);
//! - a presigned upload not yet completed: `sk = ENT#<entitlement>#UPLOAD#<file id>`,
//!   what was declared (name, type, size), purged a day on like its bytes.
//!
//! A file joins (or leaves) the entitlement's `digital_file_ids` in the same
//! transaction as its item is written (or deleted), guarded by the entitlement
//! being as read.

use super::entitlements::entitlement_key;
use super::{from_item, key, n, put_new, s, to_attribute, to_item, AnswerRecord, Item, Store, Written};
use crate::domain::digital_files::{DigitalFile, DigitalFilesConfig};
use crate::domain::entitlement::Entitlement;
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};

/// How long a presigned upload may wait for its completion.
const UPLOAD_KEPT_S: i64 = 24 * 3600;

fn file_key(business_id: &str, entitlement_id: &str, file_id: &str) -> Item {
    key(
        format!("BIZ#{business_id}"),
        format!("ENT#{entitlement_id}#FILE#{file_id}"),
    )
}

fn upload_key(business_id: &str, entitlement_id: &str, file_id: &str) -> Item {
    key(
        format!("BIZ#{business_id}"),
        format!("ENT#{entitlement_id}#UPLOAD#{file_id}"),
    )
}

/// The entitlement's config replaced by `config`, while it is active and as read.
fn config_update(
    table: &str,
    entitlement: &Entitlement,
    config: &DigitalFilesConfig,
    now: &str,
) -> Result<TransactWriteItem, ApiError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(entitlement_key(&entitlement.business_id, &entitlement.id)))
        .update_expression("SET integration_config = :config, updated_at = :now")
        .condition_expression("is_active = :true AND updated_at = :seen")
        .expression_attribute_values(":config", to_attribute(config)?)
        .expression_attribute_values(":now", s(now))
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .expression_attribute_values(":seen", s(&entitlement.updated_at))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl Store {
    /// The entitlement's files of `ids` that it holds, in one batch read.
    pub async fn files_by_id(
        &self,
        business_id: &str,
        entitlement_id: &str,
        ids: &[String],
    ) -> Result<Vec<DigitalFile>, ApiError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = ids.iter().map(|id| file_key(business_id, entitlement_id, id)).collect();
        self.get_many(keys).await?.into_iter().map(from_item).collect()
    }

    pub async fn file(
        &self,
        business_id: &str,
        entitlement_id: &str,
        file_id: &str,
    ) -> Result<Option<DigitalFile>, ApiError> {
        self.get_as(file_key(business_id, entitlement_id, file_id), true).await
    }

    /// Attaches `file` to the entitlement as read: its item, and `config`
    /// (the config naming it) written over the entitlement's. `Refused` at 0
    /// when the entitlement changed or went; `pending`, the presigned upload
    /// it completes, is removed with it.
    pub async fn attach_file(
        &self,
        entitlement: &Entitlement,
        file: &DigitalFile,
        config: &DigitalFilesConfig,
        now: &str,
        completes_upload: bool,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut item = to_item(file)?;
        item.extend(file_key(&entitlement.business_id, &entitlement.id, &file.file_id));
        let mut actions = vec![
            config_update(&self.table, entitlement, config, now)?,
            put_new(&self.table, item)?,
        ];
        if completes_upload {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(upload_key(
                    &entitlement.business_id,
                    &entitlement.id,
                    &file.file_id,
                )))
                .condition_expression("attribute_exists(pk)")
                .build()
                .map_err(ApiError::internal)?;
            actions.push(TransactWriteItem::builder().delete(delete).build());
        }
        self.commit(actions, answer).await
    }

    /// Detaches the file: its item deleted and `config` (without it) written,
    /// the entitlement as read. `Refused` at 0 when the entitlement changed,
    /// at 1 when the file is not there.
    pub async fn detach_file(
        &self,
        entitlement: &Entitlement,
        file_id: &str,
        config: &DigitalFilesConfig,
        now: &str,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(file_key(&entitlement.business_id, &entitlement.id, file_id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let actions = vec![
            config_update(&self.table, entitlement, config, now)?,
            TransactWriteItem::builder().delete(delete).build(),
        ];
        self.commit(actions, answer).await
    }

    /// Records a presigned upload of `file` (its declared name, type and
    /// size), kept until it is completed or a day has passed.
    pub async fn start_upload(
        &self,
        entitlement: &Entitlement,
        file: &DigitalFile,
        now_s: i64,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut item = to_item(file)?;
        item.extend(upload_key(&entitlement.business_id, &entitlement.id, &file.file_id));
        item.insert("purge_at".into(), n(now_s + UPLOAD_KEPT_S));
        self.commit(vec![put_new(&self.table, item)?], answer).await
    }

    /// A presigned upload started and not yet completed.
    pub async fn pending_upload(
        &self,
        business_id: &str,
        entitlement_id: &str,
        file_id: &str,
    ) -> Result<Option<DigitalFile>, ApiError> {
        self.get_as(upload_key(business_id, entitlement_id, file_id), true)
            .await
    }
}
