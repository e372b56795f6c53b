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
async fn one_pass(pass: &Arc<Pass>) -> ApiResult<usize> {
    let app = pass.app;
    let (work, polled) = counted(app.store.due_webhook_work(clock::now_millis(), BATCH, rand::random())).await;
    pass.summary.lock().await.dynamodb_calls += polled.dynamodb;
    let work = work?;
    let count = work.len();
    let permits = Arc::new(Semaphore::new(PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    for item in work {
        let permit = permits.clone().acquire_owned().await.expect("never closed");
        let pass = pass.clone();
        tasks.spawn(async move {
            let (outcome, calls) = counted(async {
                match item {
                    Work::FanOut(event) => fan_out(&pass, event).await.map(|_| None),
                    Work::Deliver(queued) => deliver(&pass, queued).await.map(Some),
                }
            })
            .await;
            drop(permit);
            let mut summary = pass.summary.lock().await;
            summary.dynamodb_calls += calls.dynamodb;
            match outcome {
                Ok(outcome) => tally(&mut summary, outcome),
                // DynamoDB trouble: the item is still there for a later pass.
                Err(err) => {
                    pass.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(code = err.code, message = %err.message, "webhook work left for later");
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(err) = joined {
            tracing::error!(%err, "webhook task failed");
        }
    }
    Ok(count)
}

fn tally(summary: &mut RunSummary, outcome: Option<Outcome>) {
    match outcome {
        None => summary.fanned_out += 1,
        Some(Outcome::Delivered) => summary.delivered += 1,
        Some(Outcome::Retrying) => summary.retrying += 1,
        Some(Outcome::Failed) => summary.failed += 1,
        Some(Outcome::Waiting) => summary.waiting += 1,
        Some(Outcome::Skipped) => summary.skipped += 1,
    }
}

/// Queues the event for every endpoint that wants it and takes it out of the
/// outbox; the queued deliveries are due at once, for the next pass.
async fn fan_out(pass: &Pass, event: PendingEvent) -> ApiResult<()> {
    let store = &pass.app.store;
    // A subject's events fan out in order: an earlier one goes first.
    if store.first_pending_event(&event.subject_id).await?.as_deref() != Some(&event.event_id) {
        return Ok(());
    }
    let now = clock::now_rfc3339();
    let now_ms = clock::now_millis();
    for endpoint in store.all_webhooks(&event.business_id).await? {
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
    store.drop_event(&event).await
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
        Some((_, first_due)) => {
            let due = if first_due > now_ms {
                first_due
            } else {
                now_ms + BEHIND_BUSY_MS
            };
            store.reschedule_delivery(&queued, due).await?;
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
        if let Some((next_id, due)) = store.head_of_queue(&after.webhook_id, &after.subject_id).await? {
            if due > clock::now_millis() {
                store
                    .bring_forward(&after.webhook_id, &after.subject_id, &next_id, clock::now_millis())
                    .await?;
            }
        }
    }
    Ok(match after.status {
        DeliveryStatus::Delivered => Outcome::Delivered,
        DeliveryStatus::Failed => Outcome::Failed,
        DeliveryStatus::Pending => Outcome::Retrying,
    })
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
