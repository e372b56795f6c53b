//! The scheduled delivery of webhook events: each run fans new events out to
//! the endpoints that want them and attempts the deliveries that are due, for
//! `work_for` (polling about once a second), then lets its last sends finish.
//!
//! Why a schedule over the sparse work index and not DynamoDB Streams: the
//! retries of SPEC §1.5 span 32 hours, longer than a stream keeps its records,
//! and an endpoint that is down must hold back only its own later events about
//! the same grant or key, not every record behind it in a stream shard.

use crate::app::App;
use crate::aws_calls::counted;
use crate::clock;
use crate::domain::webhook::{signature, Attempt, Delivery, DeliveryStatus, Endpoint, Next};
use crate::error::ApiResult;
use crate::retry::{self, until_done};
use crate::store::{PendingEvent, QueuedDelivery, Work};
use crate::webhook_sender;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, Semaphore};

/// Work items read per shard per pass.
const BATCH: usize = 100;
/// Deliveries in flight at once within a run.
const PARALLEL: usize = 16;
const POLL: Duration = Duration::from_secs(1);
/// How long a claimed attempt keeps other runs off its delivery: past the
/// delivery timeout, so only a run that died leaves one to be taken over.
const ATTEMPT_LEASE_MS: u64 = 60_000;
/// How soon a delivery waiting behind one being attempted looks again.
const BEHIND_BUSY_MS: u64 = 5_000;
/// How long one lane keeps its task in a pass: a long run about one subject
/// (or a slow endpoint) goes on in the next pass, so every pass polls again
/// within about this long and no other shard waits behind it.
const LANE_BUDGET: Duration = Duration::from_secs(2);

#[derive(Debug, Default, Serialize, Clone)]
pub struct RunSummary {
    pub passes: u32,
    pub fanned_out: u32,
    pub delivered: u32,
    pub retrying: u32,
    pub failed: u32,
    pub waiting: u32,
    pub skipped: u32,
    /// DynamoDB calls the run made, polling included: what delivery costs.
    pub dynamodb_calls: u32,
}

enum Outcome {
    Delivered,
    Retrying,
    Failed,
    /// Behind an earlier delivery, or over the endpoint's rate limit.
    Waiting,
    /// Another run has it.
    Skipped,
}

/// What the tasks of one pass share.
struct Pass {
    app: &'static App,
    /// No attempt is claimed after this, so every send ends (delivery timeout)
    /// well within the function's own timeout.
    claim_until: Instant,
    /// Endpoints that used up their rate in the second named, so the rest of
    /// the pass waits without counting again.
    spent: std::sync::Mutex<HashSet<(String, u64)>>,
    summary: Mutex<RunSummary>,
    errors: AtomicU32,
}

pub async fn run(app: &'static App, work_for: Duration) -> ApiResult<RunSummary> {
    let deadline = Instant::now() + work_for;
    let pass = Arc::new(Pass {
        app,
        claim_until: deadline,
        spent: Default::default(),
        summary: Mutex::new(RunSummary::default()),
        errors: AtomicU32::new(0),
    });
    loop {
        pass.spent.lock().expect("never poisoned").clear();
        pass.errors.store(0, Ordering::Relaxed);
        let took = one_pass(&pass).await?;
        pass.summary.lock().await.passes += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        // Idle, or DynamoDB in trouble: wait rather than poll again at once.
        if took == 0 || pass.errors.load(Ordering::Relaxed) > 0 {
            tokio::time::sleep(POLL.min(left)).await;
        }
    }
    let summary = pass.summary.lock().await.clone();
    Ok(summary)
}

/// One pass over what is due; returns how many items it took up.
///
/// The items about one subject (its events waiting to fan out, or its
/// deliveries to one endpoint) go in order, so they form one lane, taken in
/// turn by one task until an item cannot go yet; lanes run in parallel. A run
/// of events about a hot subject thus drains in one pass, not one a pass.
async fn one_pass(pass: &Arc<Pass>) -> ApiResult<usize> {
    let app = pass.app;
    let (work, polled) = counted(app.store.due_webhook_work(clock::now_millis(), BATCH, rand::random())).await;
    pass.summary.lock().await.dynamodb_calls += polled.dynamodb;
    let work = work?;
    let count = work.len();
    let permits = Arc::new(Semaphore::new(PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    for lane in lanes(work) {
        let permit = permits.clone().acquire_owned().await.expect("never closed");
        let pass = pass.clone();
        tasks.spawn(async move {
            let mut endpoints = None;
            let until = Instant::now() + LANE_BUDGET;
            for item in lane {
                if Instant::now() >= until {
                    break;
                }
                let (outcome, calls) = counted(async {
                    match item {
                        Work::FanOut(event) => fan_out(&pass, event, &mut endpoints).await.map(Took::FannedOut),
                        Work::Deliver(queued) => deliver(&pass, queued).await.map(Took::Delivery),
                    }
                })
                .await;
                let mut summary = pass.summary.lock().await;
                summary.dynamodb_calls += calls.dynamodb;
                match outcome {
                    Ok(took) => {
                        if !tally(&mut summary, took) {
                            // The rest of the lane waits behind this one.
                            break;
                        }
                    }
                    // DynamoDB trouble: the items are still there for a later pass.
                    Err(err) => {
                        pass.errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(code = err.code, message = %err.message, "webhook work left for later");
                        break;
                    }
                }
            }
            drop(permit);
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(err) = joined {
            tracing::error!(%err, "webhook task failed");
        }
    }
    Ok(count)
}

/// The work of a pass in lanes: one per subject's events, one per subject's
/// deliveries to an endpoint, each in event order, lanes in the order first seen.
fn lanes(work: Vec<Work>) -> Vec<Vec<Work>> {
    let mut lanes: Vec<(String, Vec<Work>)> = Vec::new();
    for item in work {
        let lane = match &item {
            Work::FanOut(event) => format!("event {}", event.subject_id),
            Work::Deliver(queued) => format!("delivery {} {}", queued.delivery.webhook_id, queued.delivery.subject_id),
        };
        match lanes.iter_mut().find(|(name, _)| *name == lane) {
            Some((_, items)) => items.push(item),
            None => lanes.push((lane, vec![item])),
        }
    }
    lanes
        .into_iter()
        .map(|(_, mut items)| {
            items.sort_by(|a, b| event_id(a).cmp(event_id(b)));
            items
        })
        .collect()
}

fn event_id(item: &Work) -> &str {
    match item {
        Work::FanOut(event) => &event.event_id,
        Work::Deliver(queued) => &queued.delivery.id,
    }
}

/// What one item of a lane came to.
enum Took {
    /// Whether the event fanned out (false: an earlier one about its subject has not).
    FannedOut(bool),
    Delivery(Outcome),
}

/// Counts what an item came to; true when the next item of its lane may go.
fn tally(summary: &mut RunSummary, took: Took) -> bool {
    match took {
        Took::FannedOut(true) => summary.fanned_out += 1,
        Took::FannedOut(false) => return false,
        Took::Delivery(Outcome::Delivered) => summary.delivered += 1,
        Took::Delivery(Outcome::Failed) => summary.failed += 1,
        Took::Delivery(Outcome::Retrying) => {
            summary.retrying += 1;
            return false;
        }
        Took::Delivery(Outcome::Waiting) => {
            summary.waiting += 1;
            return false;
        }
        Took::Delivery(Outcome::Skipped) => {
            summary.skipped += 1;
            return false;
        }
    }
    true
}

/// Queues the event for every endpoint that wants it and takes it out of the
/// outbox; the queued deliveries are due at once, for the next pass.
/// `endpoints` keeps the business's endpoints for the rest of the lane. False
/// when an earlier event about its subject has not fanned out yet.
async fn fan_out(pass: &Pass, event: PendingEvent, endpoints: &mut Option<Vec<Endpoint>>) -> ApiResult<bool> {
    let store = &pass.app.store;
    // A subject's events fan out in order: an earlier one goes first.
    if store.first_pending_event(&event.subject_id).await?.as_deref() != Some(&event.event_id) {
        return Ok(false);
    }
    let now = clock::now_rfc3339();
    let now_ms = clock::now_millis();
    if endpoints.is_none() {
        *endpoints = Some(store.all_webhooks(&event.business_id).await?);
    }
    for endpoint in endpoints.iter().flatten() {
        if !endpoint.wants(&event.event_type) {
            continue;
        }
        let delivery = Delivery::new(
            &event.event_id,
            &event.event_type,
            &event.subject_id,
            &endpoint.id,
            &now,
        );
        let item = QueuedDelivery {
            business_id: event.business_id.clone(),
            payload: event.payload.clone(),
            claims: 0,
            delivery,
        };
        // False when a run that died before dropping the event queued it already.
        store.queue_delivery(&item, now_ms).await?;
    }
    store.drop_event(&event).await?;
    Ok(true)
}

/// Attempts one queued delivery if it is first in its queue, due, and the
/// endpoint's rate allows; records the attempt with the delivery.
async fn deliver(pass: &Pass, queued: QueuedDelivery) -> ApiResult<Outcome> {
    let store = &pass.app.store;
    let d = &queued.delivery;
    if Instant::now() >= pass.claim_until {
        return Ok(Outcome::Skipped);
    }
    let now_ms = clock::now_millis();
    match store.head_of_queue(&d.webhook_id, &d.subject_id).await? {
        Some((first, _)) if first == d.id => {}
        // Gone: delivered or given up by another run.
        None => return Ok(Outcome::Skipped),
        // Behind an earlier one: look again when that one is due (it brings this one forward when done).
        Some((first, first_due)) => {
            let due = if first_due > now_ms {
                first_due
            } else {
                now_ms + BEHIND_BUSY_MS
            };
            store.reschedule_delivery(&queued, due).await?;
            // The one ahead may have finished between the read above and the
            // reschedule, too late to see this one put off: look once more. Of
            // the two, the later to write always sees the other's write.
            if store
                .head_of_queue(&d.webhook_id, &d.subject_id)
                .await?
                .map(|(id, _)| id)
                != Some(first)
            {
                bring_head_forward(store, &d.webhook_id, &d.subject_id).await?;
            }
            return Ok(Outcome::Waiting);
        }
    }
    let endpoint = store.webhook(&queued.business_id, &d.webhook_id).await?;
    let why_not = match &endpoint {
        None => Some("the endpoint was deleted"),
        Some(e) if e.disabled => Some("the endpoint is disabled"),
        Some(_) => None,
    };
    // One reading for the second counted against the rate and the signed timestamp,
    // so a receiver never sees more than the limit stamped in one second.
    let started = clock::now();
    if let (Some(limit), None) = (endpoint.as_ref().and_then(|e| e.rate_limit), why_not) {
        let second = started.unix_timestamp() as u64;
        let spent_key = (d.webhook_id.clone(), second);
        let known_spent = pass.spent.lock().expect("never poisoned").contains(&spent_key);
        let spent = known_spent
            || !store
                .count_request(&format!("WEBHOOK#{}", d.webhook_id), second, 1, limit as u64)
                .await?;
        if spent {
            pass.spent.lock().expect("never poisoned").insert(spent_key);
            store.reschedule_delivery(&queued, (second + 1) * 1000).await?;
            return Ok(Outcome::Waiting);
        }
    }
    if !store.claim_delivery(&queued, now_ms, now_ms + ATTEMPT_LEASE_MS).await? {
        return Ok(Outcome::Skipped);
    }
    let claimed = QueuedDelivery {
        claims: queued.claims + 1,
        ..queued
    };
    let (after, next) = match (endpoint, why_not) {
        (Some(endpoint), None) => attempt(pass.app, &claimed, &endpoint, started).await,
        (_, why) => (
            claimed
                .delivery
                .abandoned(why.unwrap_or_default(), &clock::now_rfc3339()),
            Next::Done,
        ),
    };
    let retry_at_ms = match next {
        Next::RetryIn(wait) => Some(clock::now_millis() + wait.as_millis() as u64),
        Next::Done => None,
    };
    // Sent already: a lost race for the record is tried again rather than sent again.
    let recorded = until_done!(|_| {
        match store.record_delivery_attempt(&claimed, &after, retry_at_ms).await? {
            Some(recorded) => Ok(retry::Attempt::Done(recorded)),
            None => Ok(retry::Attempt::Lost),
        }
    })
    .await?;
    if !recorded {
        tracing::warn!(event_id = %after.id, webhook_id = %after.webhook_id, "delivery outcome not recorded: another run took it over");
        return Ok(Outcome::Skipped);
    }
    if retry_at_ms.is_none() {
        // The next delivery about this subject may have been put off behind this one.
        bring_head_forward(store, &after.webhook_id, &after.subject_id).await?;
    }
    Ok(match after.status {
        DeliveryStatus::Delivered => Outcome::Delivered,
        DeliveryStatus::Failed => Outcome::Failed,
        DeliveryStatus::Pending => Outcome::Retrying,
    })
}

/// Makes the first delivery queued about a subject due now, if it was put off.
async fn bring_head_forward(store: &crate::store::Store, webhook_id: &str, subject_id: &str) -> ApiResult<()> {
    if let Some((head, due)) = store.head_of_queue(webhook_id, subject_id).await? {
        let now = clock::now_millis();
        if due > now {
            store.bring_forward(webhook_id, subject_id, &head, now).await?;
        }
    }
    Ok(())
}

/// Sends the event, signed under the endpoint's secret, and returns the delivery
/// with the attempt recorded and what comes next.
async fn attempt(
    app: &App,
    claimed: &QueuedDelivery,
    endpoint: &Endpoint,
    started: time::OffsetDateTime,
) -> (Delivery, Next) {
    let d = &claimed.delivery;
    let attempted_at = clock::rfc3339(started);
    let timestamp = started.unix_timestamp();
    let mut headers: Vec<(String, String)> = endpoint.headers.clone().into_iter().collect();
    headers.push(("webhook-id".into(), d.id.clone()));
    headers.push(("webhook-timestamp".into(), timestamp.to_string()));
    headers.push((
        "webhook-signature".into(),
        signature(&endpoint.secret, &d.id, timestamp, &claimed.payload),
    ));
    let sent = webhook_sender::post(
        &endpoint.url,
        &headers,
        claimed.payload.clone(),
        app.webhook_allow_loopback,
    )
    .await;
    tracing::info!(
        event_id = %d.id,
        webhook_id = %d.webhook_id,
        event_type = %d.event_type,
        attempt = claimed.claims,
        status_code = sent.status_code,
        duration_ms = sent.duration_ms,
        error = sent.error.as_deref(),
        "webhook attempt"
    );
    let attempt = Attempt {
        attempted_at,
        status_code: sent.status_code,
        duration_ms: sent.duration_ms,
        error: sent.error,
    };
    d.after_attempt(attempt, |wait| {
        clock::rfc3339(clock::now() + time::Duration::milliseconds(wait.as_millis() as i64))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, subject: &str) -> Work {
        Work::FanOut(PendingEvent {
            event_id: id.into(),
            business_id: "b".into(),
            subject_id: subject.into(),
            event_type: "credit.added".into(),
            payload: "{}".into(),
        })
    }

    fn delivery(id: &str, webhook: &str, subject: &str) -> Work {
        Work::Deliver(QueuedDelivery {
            business_id: "b".into(),
            payload: "{}".into(),
            claims: 0,
            delivery: Delivery::new(id, "credit.added", subject, webhook, "2026-12-06T00:00:00Z"),
        })
    }

    fn shape(lanes: &[Vec<Work>]) -> Vec<Vec<&str>> {
        lanes.iter().map(|lane| lane.iter().map(event_id).collect()).collect()
    }

    #[test]
    fn a_subject_s_events_and_each_endpoint_s_deliveries_form_lanes_in_event_order() {
        let work = vec![
            event("evt_3", "s1"),
            delivery("evt_1", "wh_a", "s1"),
            event("evt_2", "s2"),
            event("evt_1", "s1"),
            delivery("evt_0", "wh_b", "s1"),
            delivery("evt_0", "wh_a", "s1"),
        ];
        assert_eq!(
            shape(&lanes(work)),
            vec![
                vec!["evt_1", "evt_3"],
                vec!["evt_0", "evt_1"],
                vec!["evt_2"],
                vec!["evt_0"]
            ]
        );
    }

    #[test]
    fn a_lane_goes_on_only_past_items_that_are_done() {
        let mut summary = RunSummary::default();
        assert!(tally(&mut summary, Took::FannedOut(true)));
        assert!(!tally(&mut summary, Took::FannedOut(false)));
        assert!(tally(&mut summary, Took::Delivery(Outcome::Delivered)));
        assert!(tally(&mut summary, Took::Delivery(Outcome::Failed)));
        for held in [Outcome::Retrying, Outcome::Waiting, Outcome::Skipped] {
            assert!(!tally(&mut summary, Took::Delivery(held)));
        }
        assert_eq!(
            (summary.fanned_out, summary.delivered, summary.failed, summary.waiting),
            (1, 1, 1, 1)
        );
    }
}
