//! The DynamoDB adapter: the only place that knows item layouts and speaks to DynamoDB.
//!
//! One table, keys `pk`/`sk`, and two overloaded, sparse indexes `gsi1` and
//! `gsi2`. Each module here owns the layout of one kind of item.

mod allocation;
mod api_keys;
mod entitlements;
mod grants;
mod idempotency;
mod license_keys;
mod paging;

pub use allocation::{AuditPage, AuditRecord, GroupRule, HostLicense, OrgLicense, TenantService, UserSeat};
pub use grants::{FulfilOutcome, GrantPage, IssueOutcome};
pub use idempotency::{Claim, StoredResponse};
pub use license_keys::{InstancePage, KeyChanges, KeyPage};
pub use paging::{Cursor, PageRequest};

use crate::error::ApiError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, TransactWriteItem};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct Store {
    db: aws_sdk_dynamodb::Client,
    table: String,
}

impl Store {
    pub fn new(db: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

fn to_item<T: serde::Serialize>(value: &T) -> Result<Item, ApiError> {
    serde_dynamo::to_item(value).map_err(ApiError::internal)
}

fn to_attribute<T: serde::Serialize>(value: &T) -> Result<AttributeValue, ApiError> {
    serde_dynamo::to_attribute_value(value).map_err(ApiError::internal)
}

fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, ApiError> {
    serde_dynamo::from_item(item).map_err(ApiError::internal)
}

/// What a conditional update came to: its output, or `None` when the condition failed.
type UpdateResult = Result<
    aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError>,
>;

fn unless_refused(
    result: UpdateResult,
) -> Result<Option<aws_sdk_dynamodb::operation::update_item::UpdateItemOutput>, ApiError> {
    match result {
        Ok(output) => Ok(Some(output)),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(sdk_error(err)),
    }
}

/// The item an update returned (`ReturnValue::AllNew`), or `None` when its condition failed.
fn updated_item<T: serde::de::DeserializeOwned>(result: UpdateResult) -> Result<Option<T>, ApiError> {
    unless_refused(result)?
        .and_then(|output| output.attributes)
        .map(from_item)
        .transpose()
}

impl Store {
    /// One item by key, read strongly consistent when `consistent`.
    async fn get_item(&self, key: Item, consistent: bool) -> Result<Option<Item>, ApiError> {
        let output = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(output.item)
    }

    async fn get_as<T: serde::de::DeserializeOwned>(&self, key: Item, consistent: bool) -> Result<Option<T>, ApiError> {
        self.get_item(key, consistent).await?.map(from_item).transpose()
    }
}

/// Any SDK failure that is not an expected condition: logged, answered as 500.
fn sdk_error<E: std::error::Error + 'static>(err: aws_sdk_dynamodb::error::SdkError<E>) -> ApiError {
    ApiError::internal(aws_sdk_dynamodb::error::DisplayErrorContext(err))
}

/// What an attempted transaction came to.
pub enum Written {
    Done,
    /// An item's condition failed; this is how the first such item was, when asked for.
    Refused(Option<Item>),
    /// Lost to a concurrent transaction: worth trying again.
    Conflict,
}

pub(crate) async fn transact(store: &Store, actions: Vec<TransactWriteItem>) -> Result<Written, ApiError> {
    let result = store
        .db
        .transact_write_items()
        .set_transact_items(Some(actions))
        .send()
        .await;
    let err = match result {
        Ok(_) => return Ok(Written::Done),
        Err(err) => err,
    };
    let reasons: Vec<CancellationReason> = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c.cancellation_reasons().to_vec(),
        _ => return Err(sdk_error(err)),
    };
    if let Some(refused) = reasons.iter().find(|r| r.code() == Some("ConditionalCheckFailed")) {
        return Ok(Written::Refused(refused.item().cloned()));
    }
    if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
        return Ok(Written::Conflict);
    }
    Err(ApiError::internal(format!("transaction cancelled: {reasons:?}")))
}
