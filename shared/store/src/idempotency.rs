//! Idempotency records: `pk = IDEM#<scope>#<Idempotency-Key>`, kept 24 h by TTL.
//!
//! A request first claims its key with a conditional put (`running`, with a
//! token of its own). A request that changes state writes its answer onto the
//! record inside the same transaction as the change (`Store::commit`), so a
//! process that dies after its commit leaves the answer behind. A claim left
//! `running` by a process that died before committing is taken over once it is
//! older than any invocation can run; the token keeps the two apart.

use super::{key, n, s, sdk_error, Item, Store};
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

const KEEP_SECONDS: u64 = 24 * 60 * 60;
/// Longer than the timeout of any function that takes an Idempotency-Key (10 s
/// in template.yaml): a claim this old belongs to an invocation that is gone.
const ABANDONED_AFTER_MS: u64 = 15_000;

/// A kept answer: status and body as they were sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: String,
}

/// This request's hold on an Idempotency-Key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    pub token: String,
}

/// The answer to write onto a claimed record, in the transaction of the change.
#[derive(Clone, Debug)]
pub struct AnswerRecord {
    pub claim: IdempotencyClaim,
    pub answer: StoredAnswer,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First use of the key (or a takeover of an abandoned one): run the request.
    Acquired(IdempotencyClaim),
    /// Same key and request, answered: answer this again.
    Replay(StoredAnswer),
    /// Same key, still running.
    InUse,
    /// Same key, another request.
    Reused,
}

fn record_key(scope: &str, idempotency_key: &str) -> Item {
    key(format!("IDEM#{scope}#{idempotency_key}"), "IDEM")
}

impl Store {
    pub async fn claim_idempotency_key(
        &self,
        scope: &str,
        idempotency_key: &str,
        fingerprint: &str,
        token: &str,
        now_ms: u64,
    ) -> Result<Claim, ApiError> {
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record_key(scope, idempotency_key)))
            .item("fingerprint", s(fingerprint))
            .item("state", s("running"))
            .item("token", s(token))
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
            Ok(_) => {
                return Ok(Claim::Acquired(IdempotencyClaim {
                    scope: scope.to_string(),
                    key: idempotency_key.to_string(),
                    fingerprint: fingerprint.to_string(),
                    token: token.to_string(),
                }))
            }
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
        Ok(Claim::Replay(StoredAnswer {
            status,
            body: text("body"),
        }))
    }

    /// The transaction action that writes `record`'s answer, valid only while
    /// this request still holds the claim.
    pub(super) fn answer_action(&self, record: &AnswerRecord) -> Result<TransactWriteItem, ApiError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(record_key(&record.claim.scope, &record.claim.key)))
            .update_expression("SET #state = :done, #status = :status, body = :body")
            .condition_expression("#token = :token AND #state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":token", s(&record.claim.token))
            .expression_attribute_values(":status", n(record.answer.status))
            .expression_attribute_values(":body", s(&record.answer.body))
            .build()
            .map_err(ApiError::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Keeps the request's final answer: a final error, or the answer as the side
    /// effects after the commit left it. A record that is no longer ours is left alone.
    pub async fn keep_answer(&self, claim: &IdempotencyClaim, answer: &StoredAnswer) -> Result<(), ApiError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(record_key(&claim.scope, &claim.key)))
            .update_expression("SET #state = :done, #status = :status, body = :body")
            .condition_expression("#token = :token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":token", s(&claim.token))
            .expression_attribute_values(":status", n(answer.status))
            .expression_attribute_values(":body", s(&answer.body))
            .send()
            .await;
        super::unless_refused(result).map(|_| ())
    }

    /// Gives the key back after a retryable answer, so the client may retry with
    /// it: the record is marked expired, which a claim treats as absent. A record
    /// whose change committed (`done`) stays.
    pub async fn release_idempotency_key(&self, claim: &IdempotencyClaim) -> Result<(), ApiError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(record_key(&claim.scope, &claim.key)))
            .update_expression("SET purge_at = :expired")
            .condition_expression("#token = :token AND #state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":token", s(&claim.token))
            .expression_attribute_values(":expired", n(0))
            .send()
            .await;
        super::unless_refused(result).map(|_| ())
    }
}
