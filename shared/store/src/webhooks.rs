//! Webhook endpoints, the event outbox and the delivery queue.
//!
//! - endpoint: `pk = BIZ#<business>#WEBHOOK`, `sk = <id>` (ids sort by creation).
//! - event (the outbox): `pk = WHEVT#<subject>`, `sk = <event id>`, written in
//!   the transaction of the change it reports and deleted once fanned out to the
//!   endpoints, so the partition holds a subject's events not yet fanned out, in order.
//! - queued delivery: `pk = WHQ#<endpoint>#<subject>`, `sk = <event id>`: one
//!   per event and endpoint until delivered or given up; the first of a
//!   partition is the only one attempted, which keeps each endpoint's order per subject.
//! - delivery record: `pk = WHDLV#<endpoint>`, `sk = <event id>`: what the
//!   deliveries route lists, written beside every change of the queued delivery.
//!
//! Events and queued deliveries are work: both sit in the sparse index `gsi3`
//! under `WHWORK#<shard of the subject>`, sorted by when they are due.

use super::paging::{KeyRange, PageOfItems};
use super::{
    from_item, key, n, put, put_new, s, sdk_error, to_item, unless_refused, AnswerRecord, Item, Store, Written,
};
use crate::domain::webhook::{Delivery, Endpoint, Event};
use crate::error::ApiError;
use crate::PageRequest;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use serde::{Deserialize, Serialize};

const WORK_SHARDS: u32 = 4;

fn endpoint_partition(business_id: &str) -> String {
    format!("BIZ#{business_id}#WEBHOOK")
}

fn endpoint_key(business_id: &str, id: &str) -> Item {
    key(endpoint_partition(business_id), id)
}

fn event_key(subject_id: &str, event_id: &str) -> Item {
    key(format!("WHEVT#{subject_id}"), event_id)
}

fn queue_partition(webhook_id: &str, subject_id: &str) -> String {
    format!("WHQ#{webhook_id}#{subject_id}")
}

fn record_key(webhook_id: &str, event_id: &str) -> Item {
    key(format!("WHDLV#{webhook_id}"), event_id)
}

/// A subject's events and deliveries share a shard, so one query sees them in order.
fn work_shard(subject_id: &str) -> String {
    let spread = subject_id
        .bytes()
        .fold(0u32, |acc, b| acc.wrapping_mul(31).wrapping_add(b as u32));
    format!("WHWORK#{}", spread % WORK_SHARDS)
}

fn work_due(due_ms: u64, event_id: &str) -> String {
    format!("{due_ms:015}#{event_id}")
}

fn due_of(gsi3sk: &str) -> u64 {
    gsi3sk.split('#').next().and_then(|ms| ms.parse().ok()).unwrap_or(0)
}

/// An event not yet fanned out.
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingEvent {
    pub event_id: String,
    pub business_id: String,
    pub subject_id: String,
    pub event_type: String,
    pub payload: String,
}

/// An event waiting for one endpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueuedDelivery {
    pub business_id: String,
    pub payload: String,
    /// Attempts claimed so far; each claim is conditioned on the count it saw.
    pub claims: u32,
    pub delivery: Delivery,
}

pub enum Work {
    FanOut(PendingEvent),
    Deliver(QueuedDelivery),
}

pub struct EndpointPage {
    pub items: Vec<Endpoint>,
    pub next_cursor: Option<String>,
}

pub struct DeliveryPage {
    pub items: Vec<Delivery>,
    pub next_cursor: Option<String>,
}

/// Puts that record `events` in the transaction of their change.
/// Events are due at once, so within a shard they come in the order of their ids.
pub(super) fn event_puts(table: &str, events: &[Event]) -> Result<Vec<TransactWriteItem>, ApiError> {
    events
        .iter()
        .map(|event| {
            let mut item = to_item(&PendingEvent {
                event_id: event.id.clone(),
                business_id: event.business_id.clone(),
                subject_id: event.subject_id.clone(),
                event_type: event.event_type.to_string(),
                payload: event.payload.clone(),
            })?;
            item.extend(event_key(&event.subject_id, &event.id));
            item.insert("kind".into(), s("event"));
            item.insert("gsi3pk".into(), s(work_shard(&event.subject_id)));
            item.insert("gsi3sk".into(), s(work_due(0, &event.id)));
            put_new(table, item)
        })
        .collect()
}

fn queued_item(queued: &QueuedDelivery, due_ms: u64) -> Result<Item, ApiError> {
    let d = &queued.delivery;
    let mut item = to_item(queued)?;
    item.extend(key(queue_partition(&d.webhook_id, &d.subject_id), &d.id));
    item.insert("kind".into(), s("delivery"));
    item.insert("gsi3pk".into(), s(work_shard(&d.subject_id)));
    item.insert("gsi3sk".into(), s(work_due(due_ms, &d.id)));
    Ok(item)
}

fn record_item(delivery: &Delivery) -> Result<Item, ApiError> {
    let mut item = to_item(delivery)?;
    item.extend(record_key(&delivery.webhook_id, &delivery.id));
    Ok(item)
}

fn queued_key(delivery: &Delivery) -> Item {
    key(
        queue_partition(&delivery.webhook_id, &delivery.subject_id),
        &delivery.id,
    )
}

impl Store {
    pub async fn create_webhook(
        &self,
        endpoint: &Endpoint,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut item = to_item(endpoint)?;
        item.extend(endpoint_key(&endpoint.business_id, &endpoint.id));
        self.commit(vec![put_new(&self.table, item)?], answer).await
    }

    pub async fn webhook(&self, business_id: &str, id: &str) -> Result<Option<Endpoint>, ApiError> {
        self.get_as(endpoint_key(business_id, id), false).await
    }

    /// Writes `next` over the endpoint if it is still as `current` was read.
    pub async fn replace_webhook(
        &self,
        current: &Endpoint,
        next: &Endpoint,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut item = to_item(next)?;
        item.extend(endpoint_key(&next.business_id, &next.id));
        let guarded = put(
            &self.table,
            item,
            Some(("updated_at = :seen", vec![(":seen", s(&current.updated_at))])),
        )?;
        self.commit(vec![guarded], answer).await
    }

    /// Deletes the endpoint; `Refused` when it is not there. Its queued
    /// deliveries are given up when they come due.
    pub async fn delete_webhook(
        &self,
        business_id: &str,
        id: &str,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(business_id, id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        self.commit(vec![TransactWriteItem::builder().delete(delete).build()], answer)
            .await
    }

    pub async fn list_webhooks(&self, business_id: &str, page: &PageRequest) -> Result<EndpointPage, ApiError> {
        let PageOfItems { items, next_cursor } = self
            .query_page(KeyRange::table(endpoint_partition(business_id)), page)
            .await?;
        Ok(EndpointPage {
            items: items.into_iter().map(from_item).collect::<Result<_, _>>()?,
            next_cursor,
        })
    }

    /// Every endpoint of the business, for fanning an event out.
    pub async fn all_webhooks(&self, business_id: &str) -> Result<Vec<Endpoint>, ApiError> {
        let mut endpoints = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .db
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", s(endpoint_partition(business_id)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in output.items.unwrap_or_default() {
                endpoints.push(from_item(item)?);
            }
            match output.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(endpoints),
            }
        }
    }

    pub async fn list_deliveries(&self, webhook_id: &str, page: &PageRequest) -> Result<DeliveryPage, ApiError> {
        let PageOfItems { items, next_cursor } = self
            .query_page(KeyRange::table(format!("WHDLV#{webhook_id}")), page)
            .await?;
        Ok(DeliveryPage {
            items: items.into_iter().map(from_item).collect::<Result<_, _>>()?,
            next_cursor,
        })
    }

    /// Events to fan out and deliveries to attempt, due by `now_ms` and not held
    /// by another run, at most `limit` per shard, oldest first within each.
    pub async fn due_webhook_work(&self, now_ms: u64, limit: usize, first_shard: u32) -> Result<Vec<Work>, ApiError> {
        let mut work = Vec::new();
        for i in 0..WORK_SHARDS {
            let shard = (first_shard % WORK_SHARDS + i) % WORK_SHARDS;
            let output = self
                .db
                .query()
                .table_name(&self.table)
                .index_name("gsi3")
                .key_condition_expression("gsi3pk = :shard AND gsi3sk <= :due")
                .filter_expression("attribute_not_exists(lease_until_ms) OR lease_until_ms < :now")
                .expression_attribute_values(":shard", s(format!("WHWORK#{shard}")))
                .expression_attribute_values(":due", s(work_due(now_ms, "~")))
                .expression_attribute_values(":now", n(now_ms))
                .limit(limit as i32)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in output.items.unwrap_or_default() {
                let is_event = item.get("kind").and_then(|k| k.as_s().ok()).map(String::as_str) == Some("event");
                let parsed = if is_event {
                    from_item(item.clone()).map(Work::FanOut)
                } else {
                    from_item(item.clone()).map(Work::Deliver)
                };
                // One item that does not read must not hold up all the others.
                match parsed {
                    Ok(parsed) => work.push(parsed),
                    Err(err) => tracing::error!(
                        pk = ?item.get("pk").and_then(|v| v.as_s().ok()),
                        sk = ?item.get("sk").and_then(|v| v.as_s().ok()),
                        message = %err.message,
                        "webhook work item skipped: it does not read"
                    ),
                }
            }
        }
        Ok(work)
    }

    /// The id of the subject's oldest event not yet fanned out (read strongly).
    pub async fn first_pending_event(&self, subject_id: &str) -> Result<Option<String>, ApiError> {
        let first = self.first_of(format!("WHEVT#{subject_id}")).await?;
        Ok(first.and_then(|item| item.get("sk").and_then(|v| v.as_s().ok()).cloned()))
    }

    /// The oldest queued delivery to `webhook_id` about `subject_id` and when it
    /// is due (read strongly): the one that goes first.
    pub async fn head_of_queue(&self, webhook_id: &str, subject_id: &str) -> Result<Option<(String, u64)>, ApiError> {
        let first = self.first_of(queue_partition(webhook_id, subject_id)).await?;
        Ok(first.and_then(|item| {
            let id = item.get("sk")?.as_s().ok()?.clone();
            let due = item
                .get("gsi3sk")
                .and_then(|v| v.as_s().ok())
                .map_or(0, |sk| due_of(sk));
            Some((id, due))
        }))
    }

    async fn first_of(&self, partition: String) -> Result<Option<Item>, ApiError> {
        let output = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(partition))
            .consistent_read(true)
            .limit(1)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(output.items.unwrap_or_default().into_iter().next())
    }

    /// Queues the event for one endpoint, with its delivery record. False when
    /// an earlier run already did.
    pub async fn queue_delivery(&self, queued: &QueuedDelivery, due_ms: u64) -> Result<bool, ApiError> {
        let actions = vec![
            put_new(&self.table, queued_item(queued, due_ms)?)?,
            put_new(&self.table, record_item(&queued.delivery)?)?,
        ];
        match self.commit(actions, None).await? {
            Written::Done => Ok(true),
            Written::Refused { .. } => Ok(false),
            Written::Conflict => Err(ApiError::unavailable("queueing a delivery met a conflict")),
        }
    }

    /// The event has been fanned out: out of the outbox.
    pub async fn drop_event(&self, event: &PendingEvent) -> Result<(), ApiError> {
        self.db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(event_key(&event.subject_id, &event.event_id)))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Moves a queued delivery's due time, if no run has claimed it since it was read.
    pub async fn reschedule_delivery(&self, queued: &QueuedDelivery, due_ms: u64) -> Result<bool, ApiError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(queued_key(&queued.delivery)))
            .update_expression("SET gsi3sk = :due")
            .condition_expression("claims = :seen")
            .expression_attribute_values(":due", s(work_due(due_ms, &queued.delivery.id)))
            .expression_attribute_values(":seen", n(queued.claims))
            .send()
            .await;
        Ok(unless_refused(result)?.is_some())
    }

    /// Makes a queued delivery due at `due_ms`, if it is still queued.
    pub async fn bring_forward(
        &self,
        webhook_id: &str,
        subject_id: &str,
        event_id: &str,
        due_ms: u64,
    ) -> Result<(), ApiError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(queue_partition(webhook_id, subject_id), event_id)))
            .update_expression("SET gsi3sk = :due")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":due", s(work_due(due_ms, event_id)))
            .send()
            .await;
        unless_refused(result)?;
        Ok(())
    }

    /// Claims the next attempt of a queued delivery seen with `claims` claims and
    /// keeps other runs off it until `lease_until_ms`. False when another run got it.
    pub async fn claim_delivery(
        &self,
        queued: &QueuedDelivery,
        now_ms: u64,
        lease_until_ms: u64,
    ) -> Result<bool, ApiError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(queued_key(&queued.delivery)))
            .update_expression("SET claims = :next, lease_until_ms = :lease")
            .condition_expression("claims = :seen AND (attribute_not_exists(lease_until_ms) OR lease_until_ms < :now)")
            .expression_attribute_values(":seen", n(queued.claims))
            .expression_attribute_values(":next", n(queued.claims + 1))
            .expression_attribute_values(":lease", n(lease_until_ms))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        Ok(unless_refused(result)?.is_some())
    }

    /// Records the outcome of the claimed attempt (`queued` as claimed, `after` the
    /// delivery with the attempt recorded): out of the queue when `retry_at_ms` is
    /// `None`, due again then otherwise. False when the claim was lost; `None`
    /// when a concurrent write got in the way (worth trying again).
    pub async fn record_delivery_attempt(
        &self,
        queued: &QueuedDelivery,
        after: &Delivery,
        retry_at_ms: Option<u64>,
    ) -> Result<Option<bool>, ApiError> {
        let still_ours = Some(("claims = :claimed", vec![(":claimed", n(queued.claims))]));
        let queue_action = match retry_at_ms {
            None => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(queued_key(after)))
                    .condition_expression("claims = :claimed")
                    .expression_attribute_values(":claimed", n(queued.claims))
                    .build()
                    .map_err(ApiError::internal)?;
                TransactWriteItem::builder().delete(delete).build()
            }
            Some(due) => {
                let next = QueuedDelivery {
                    delivery: after.clone(),
                    ..queued.clone()
                };
                put(&self.table, queued_item(&next, due)?, still_ours)?
            }
        };
        let actions = vec![queue_action, put(&self.table, record_item(after)?, None)?];
        Ok(match self.commit(actions, None).await? {
            Written::Done => Some(true),
            Written::Refused { .. } => Some(false),
            Written::Conflict => None,
        })
    }
}
