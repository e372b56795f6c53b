//! Idempotency records: `pk = IDEM#<principal>#<Idempotency-Key>`, kept 24 h by TTL.
//!
//! A request first claims its key with a conditional put; the response is then
//! stored on the same record. A claim left running by a crashed invocation is
//! taken over once it is older than any invocation can run.

use super::{key, s, sdk_error, Item, Store};
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

const KEEP_SECONDS: u64 = 24 * 60 * 60;
const ABANDONED_AFTER_MS: u64 = 60_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First use of the key: run the request, then store its response.
    Acquired,
    /// Same key and body, finished: answer this again.
    Replay(StoredResponse),
    /// Same key, still running.
    InUse,
    /// Same key, another request.
    Reused,
}

fn record_key(scope: &str, idempotency_key: &str) -> Item {
    key(format!("IDEM#{scope}#{idempotency_key}"), "IDEM")
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl Store {
    pub async fn claim_idempotency_key(
        &self,
        scope: &str,
        idempotency_key: &str,
        fingerprint: &str,
        now_ms: u64,
    ) -> Result<Claim, ApiError> {
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record_key(scope, idempotency_key)))
            .item("fingerprint", s(fingerprint))
            .item("state", s("running"))
            .item("started_at_ms", n(now_ms))
            .item("purge_at", n(now_ms / 1000 + KEEP_SECONDS))
            // TTL deletes lazily, so an expired record counts as absent.
            .condition_expression(
                "attribute_not_exists(pk) OR purge_at < :now_s OR (#state = :running AND started_at_ms < :abandoned)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now_s", n(now_ms / 1000))
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":abandoned", n(now_ms.saturating_sub(ABANDONED_AFTER_MS)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Claim::Acquired),
            Err(err) => err,
        };
        let Some(existing) = err.as_service_error().and_then(|e| match e {
            aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                c.item().cloned()
            }
            _ => None,
        }) else {
            return Err(sdk_error(err));
        };
        let text = |name: &str| {
            existing
                .get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        if text("fingerprint") != fingerprint {
            return Ok(Claim::Reused);
        }
        if text("state") != "done" {
            return Ok(Claim::InUse);
        }
        let status = existing
            .get("status")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(200);
        Ok(Claim::Replay(StoredResponse {
            status,
            body: text("body"),
        }))
    }

    pub async fn store_idempotent_response(
        &self,
        scope: &str,
        idempotency_key: &str,
        fingerprint: &str,
        response: &StoredResponse,
    ) -> Result<(), ApiError> {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(record_key(scope, idempotency_key)))
            .update_expression("SET #state = :done, #status = :status, body = :body")
            .condition_expression("fingerprint = :fingerprint AND #state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":status", n(response.status.into()))
            .expression_attribute_values(":body", s(&response.body))
            .expression_attribute_values(":fingerprint", s(fingerprint))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Gives the key back after a failure of ours, so the client may retry with it.
    pub async fn release_idempotency_key(
        &self,
        scope: &str,
        idempotency_key: &str,
        fingerprint: &str,
    ) -> Result<(), ApiError> {
        self.db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(record_key(scope, idempotency_key)))
            .condition_expression("fingerprint = :fingerprint AND #state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":fingerprint", s(fingerprint))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
