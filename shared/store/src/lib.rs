//! The DynamoDB adapter: the only place that knows item layouts and speaks to DynamoDB.
//!
//! One table, keys `pk`/`sk`, and two overloaded, sparse indexes `gsi1` and
//! `gsi2`. Each module here owns the layout of one kind of item. Below the
//! application and above the pure rules (`licensing_domain`), it also holds
//! what every AWS call shares: the error catalogue its answers come from, the
//! retry budget, the per-request tally of calls, the clock and the failpoints.

pub mod aws_calls;
pub mod clock;
pub mod error;
pub mod failpoints;
pub mod retry;

use licensing_domain as domain;
use licensing_domain::digest;

mod allocation;
mod api_keys;
mod counter_shards;
mod credit_shards;
mod credits;
mod digital_files;
mod entitlements;
mod grants;
mod idempotency;
mod license_keys;
mod paging;
mod payment_providers;
mod portal;
mod products;
mod provider_events;
mod rate_limits;
mod translations;
mod webhooks;

pub use allocation::{ListPage, ShardPicks};
pub use credits::{EntryOnce, Fence, LedgerFilter, Page};
pub use grants::{FulfilOutcome, GrantChange, GrantIssue, GrantPage, IssueOutcome};
pub use idempotency::{AnswerRecord, Claim, IdempotencyClaim, StoredAnswer};
pub use license_keys::{ActivationRead, ActivationWrite, InstancePage, KeyPage, KeyQuery};
pub use paging::{Cursor, PageRequest, PageStart};
pub use provider_events::{GrantCause, PaymentRecord, SubscriptionRecord};
pub use translations::Translated;
pub use webhooks::{DeliveryPage, EndpointPage, PendingEvent, QueuedDelivery, Work};

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

    /// Reads an item that never exists (`pk = WARMUP`), for the connection it
    /// opens: the first request then finds it open.
    pub async fn open_connection(&self) -> Result<(), ApiError> {
        self.db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key("WARMUP", "WARMUP")))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A transaction put, guarded by `condition` (an expression and its values) when given.
fn put(
    table: &str,
    item: Item,
    condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
) -> Result<TransactWriteItem, ApiError> {
    let mut put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item));
    if let Some((expression, values)) = condition {
        put = put.condition_expression(expression);
        for (name, value) in values {
            put = put.expression_attribute_values(name, value);
        }
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(ApiError::internal)?)
        .build())
}

/// A transaction put that creates the item, refused when it exists.
fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, ApiError> {
    put(table, item, Some(("attribute_not_exists(pk)", vec![])))
}

fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// A grant's item (grants.rs has its layout). Here, below grants.rs and
/// license_keys.rs, because a key's changes also write its copy on its grant.
fn grant_key(business_id: &str, grant_id: &str) -> Item {
    key(format!("BIZ#{business_id}"), format!("GRANT#{grant_id}"))
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

    /// Any number of items by key, 100 to a round trip (BatchGetItem's most),
    /// read as `T`; absent ones are left out.
    async fn get_all_as<T: serde::de::DeserializeOwned>(&self, keys: Vec<Item>) -> Result<Vec<T>, ApiError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            for item in self.get_many(chunk.to_vec()).await? {
                found.push(from_item(item)?);
            }
        }
        Ok(found)
    }

    /// Several items by key in one round trip (more only for what DynamoDB
    /// leaves unprocessed), read strongly consistent; absent ones are left out.
    async fn get_many(&self, keys: Vec<Item>) -> Result<Vec<Item>, ApiError> {
        let mut found = Vec::with_capacity(keys.len());
        let mut pending = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(ApiError::internal)?;
        crate::until_done!(|_| {
            let output = self
                .db
                .batch_get_item()
                .request_items(&self.table, pending.clone())
                .send()
                .await
                .map_err(sdk_error)?;
            found.extend(
                output
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default(),
            );
            match output.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                // Left unprocessed under throttling: back off as for a lost race, then 503.
                Some(unprocessed) => {
                    pending = unprocessed;
                    Ok(crate::retry::Attempt::Lost)
                }
                None => Ok(crate::retry::Attempt::Done(())),
            }
        })
        .await?;
        Ok(found)
    }

    /// Items by key, all as they were at one instant (TransactGetItems, at
    /// most 100), in the order asked, `None` where absent. A count summed over
    /// several items, or an answer that joins them, is read this way: each
    /// item of `get_many` is read at its own instant.
    async fn snapshot(&self, keys: Vec<Item>) -> Result<Vec<Option<Item>>, ApiError> {
        use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
        use aws_sdk_dynamodb::types::{Get, TransactGetItem};
        match keys.as_slice() {
            [] => return Ok(Vec::new()),
            // One item is read at one instant anyway, at half a transaction's cost.
            [key] => return Ok(vec![self.get_item(key.clone(), true).await?]),
            _ => {}
        }
        let gets = keys
            .into_iter()
            .map(|key| {
                let get = Get::builder().table_name(&self.table).set_key(Some(key)).build();
                Ok(TransactGetItem::builder().get(get.map_err(ApiError::internal)?).build())
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        crate::until_done!(|_| {
            let result = self
                .db
                .transact_get_items()
                .set_transact_items(Some(gets.clone()))
                .send()
                .await;
            match result {
                Ok(output) => Ok(crate::retry::Attempt::Done(
                    output
                        .responses
                        .unwrap_or_default()
                        .into_iter()
                        .map(|r| r.item)
                        .collect(),
                )),
                // A write in flight on one of the items, or one throttled: back off, then 503.
                Err(err)
                    if matches!(
                        err.as_service_error(),
                        Some(TransactGetItemsError::TransactionCanceledException(c))
                            if c.cancellation_reasons().iter().any(|r| r.code().is_some_and(is_retryable_cancellation))
                    ) =>
                {
                    Ok(crate::retry::Attempt::Lost)
                }
                Err(err) => Err(sdk_error(err)),
            }
        })
        .await
    }

    /// Items by key as they were at one instant (`snapshot`), read as `T`;
    /// absent ones are left out.
    async fn snapshot_as<T: serde::de::DeserializeOwned>(&self, keys: Vec<Item>) -> Result<Vec<T>, ApiError> {
        self.snapshot(keys)
            .await?
            .into_iter()
            .flatten()
            .map(from_item)
            .collect()
    }

    async fn get_as<T: serde::de::DeserializeOwned>(&self, key: Item, consistent: bool) -> Result<Option<T>, ApiError> {
        self.get_item(key, consistent).await?.map(from_item).transpose()
    }
}

/// Any SDK failure that is not an expected condition. DynamoDB out of reach,
/// throttled or failing on its side is retryable (503); anything else is a bug of ours.
fn sdk_error<E>(err: aws_sdk_dynamodb::error::SdkError<E>) -> ApiError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
{
    use aws_sdk_dynamodb::error::SdkError;
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error() || service.err().code().is_some_and(is_throttling)
        }
        _ => false,
    };
    let detail = crate::error::chain(&err);
    if transient {
        ApiError::unavailable(detail)
    } else {
        ApiError::internal(detail)
    }
}

fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TransactionInProgressException"
            | "LimitExceededException"
    )
}

/// A transaction cancelled by another one, or throttled (the table, or one
/// hot item's partition), changed nothing and may be tried again.
fn is_retryable_cancellation(code: &str) -> bool {
    matches!(
        code,
        "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
    )
}

/// What an attempted transaction came to.
#[derive(Debug)]
pub enum Written {
    Done,
    /// The action at index `at` failed its condition; `item` is how that item
    /// was, when the action asked for it; `alone` when no other action failed.
    Refused {
        at: usize,
        item: Option<Item>,
        alone: bool,
    },
    /// Lost to a concurrent transaction: worth trying again.
    Conflict,
}

impl Written {
    /// The item of action `at` as it refused the change when its condition
    /// alone failed: every other condition held, so the change can be decided
    /// again from this item and what was read before, with no second read.
    fn refused_only_by<T: serde::de::DeserializeOwned>(&self, at: usize) -> Result<Option<T>, ApiError> {
        match self {
            Written::Refused {
                at: refused,
                item: Some(item),
                alone: true,
            } if *refused == at => from_item(item.clone()).map(Some),
            _ => Ok(None),
        }
    }
}

impl Store {
    /// The one way state changes: `actions` in one transaction, with the
    /// idempotency record of the request's answer when it has one, so the
    /// change and its answer commit together or not at all.
    pub(crate) async fn commit(
        &self,
        mut actions: Vec<TransactWriteItem>,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let changes = actions.len();
        if let Some(answer) = answer {
            actions.push(self.answer_action(answer)?);
        }
        crate::failpoints::before_commit().await;
        let result = self
            .db
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await;
        let err = match result {
            Ok(_) => {
                crate::failpoints::after_commit();
                return Ok(Written::Done);
            }
            Err(err) => err,
        };
        let reasons: Vec<CancellationReason> = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => c.cancellation_reasons().to_vec(),
            _ => return Err(sdk_error(err)),
        };
        if let Some(at) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
            if at == changes {
                // Our claim on the Idempotency-Key lapsed and another attempt holds it.
                return Err(ApiError::idempotency_key_in_use());
            }
            let failed = reasons
                .iter()
                .filter(|r| r.code() == Some("ConditionalCheckFailed"))
                .count();
            return Ok(Written::Refused {
                at,
                item: reasons[at].item().cloned(),
                alone: failed == 1,
            });
        }
        if reasons.iter().any(|r| r.code().is_some_and(is_retryable_cancellation)) {
            return Ok(Written::Conflict);
        }
        let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
        Err(ApiError::internal(format!(
            "transaction cancelled: {}",
            codes.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_or_conflicting_transaction_is_tried_again_and_no_other() {
        for code in [
            "TransactionConflict",
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
        ] {
            assert!(is_retryable_cancellation(code), "{code}");
        }
        for code in [
            "ConditionalCheckFailed",
            "ValidationError",
            "ItemCollectionSizeLimitExceeded",
            "None",
        ] {
            assert!(!is_retryable_cancellation(code), "{code}");
        }
    }
}
