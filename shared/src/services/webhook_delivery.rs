//! The scheduled delivery of webhook events: each run fans new events out to
//! the endpoints that want them and attempts the deliveries that are due, for
//! `work_for` (polling about once a second), then returns.
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
use crate::store::{PendingEvent, QueuedDelivery, Work};
use crate::webhook_sender;
use serde::Serialize;
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

pub async fn run(app: &'static App, work_for: Duration) -> ApiResult<RunSummary> {
    let deadline = Instant::now() + work_for;
    let summary = Arc::new(Mutex::new(RunSummary::default()));
    loop {
        let did = pass(app, &summary).await?;
        summary.lock().await.passes += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if did == 0 {
            tokio::time::sleep(POLL.min(left)).await;
        }
    }
    let summary = summary.lock().await.clone();
    Ok(summary)
}

/// One pass over what is due; returns how many items it took up.
async fn pass(app: &'static App, summary: &Arc<Mutex<RunSummary>>) -> ApiResult<usize> {
    let (work, polled) = counted(app.store.due_webhook_work(clock::now_millis(), BATCH, rand::random())).await;
    summary.lock().await.dynamodb_calls += polled.dynamodb;
    let work = work?;
    let count = work.len();
    let permits = Arc::new(Semaphore::new(PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    for item in work {
        let permit = permits.clone().acquire_owned().await.expect("never closed");
        let summary = summary.clone();
        tasks.spawn(async move {
            let (outcomes, calls) = counted(async {
                match item {
                    Work::FanOut(event) => fan_out(app, event).await,
                    Work::Deliver(queued) => deliver(app, queued, None).await.map(|o| vec![Some(o)]),
                }
            })
            .await;
            drop(permit);
            let mut summary = summary.lock().await;
            summary.dynamodb_calls += calls.dynamodb;
            match outcomes {
                Ok(outcomes) => outcomes.into_iter().for_each(|o| tally(&mut summary, o)),
                // DynamoDB trouble: the item is still there for the next pass.
                Err(err) => tracing::warn!(code = err.code, message = %err.message, "webhook work left for later"),
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

/// Queues the event for every endpoint that wants it, takes it out of the
/// outbox, then attempts those deliveries at once. `None` in the outcomes
/// stands for the fan-out itself.
async fn fan_out(app: &'static App, event: PendingEvent) -> ApiResult<Vec<Option<Outcome>>> {
    // A subject's events fan out in order: an earlier one goes first.
    if app.store.first_pending_event(&event.subject_id).await?.as_deref() != Some(&event.event_id) {
        return Ok(vec![Some(Outcome::Waiting)]);
    }
    let endpoints: Vec<Endpoint> = app
        .store
        .all_webhooks(&event.business_id)
        .await?
        .into_iter()
        .filter(|e| e.wants(&event.event_type))
        .collect();
    let now = clock::now_rfc3339();
    let now_ms = clock::now_millis();
    let mut queued = Vec::new();
    for endpoint in endpoints {
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
        // Already queued by a run that died before dropping the event: the queue has it.
        if app.store.queue_delivery(&item, now_ms).await? {
            queued.push((item, endpoint));
        }
    }
    app.store.drop_event(&event).await?;
    let mut outcomes = vec![None];
    for (item, endpoint) in queued {
        outcomes.push(Some(deliver(app, item, Some(endpoint)).await?));
    }
    Ok(outcomes)
}

/// Attempts one queued delivery if it is first in its queue, due, and the
/// endpoint's rate allows; records the attempt with the delivery.
async fn deliver(app: &'static App, queued: QueuedDelivery, endpoint: Option<Endpoint>) -> ApiResult<Outcome> {
    let store = &app.store;
    let d = &queued.delivery;
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
    let endpoint = match endpoint {
        Some(endpoint) => Some(endpoint),
        None => store.webhook(&queued.business_id, &d.webhook_id).await?,
    };
    let why_not = match &endpoint {
        None => Some("the endpoint was deleted"),
        Some(e) if e.disabled => Some("the endpoint is disabled"),
        Some(_) => None,
    };
    if let Some(limit) = endpoint.as_ref().and_then(|e| e.rate_limit) {
        let second = now_ms / 1000;
        if why_not.is_none()
            && !store
                .count_request(&format!("WEBHOOK#{}", d.webhook_id), second, 1, limit as u64)
                .await?
        {
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
        (Some(endpoint), None) => attempt(app, &claimed, &endpoint).await,
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
    if !store.record_delivery_attempt(&claimed, &after, retry_at_ms).await? {
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
async fn attempt(app: &App, claimed: &QueuedDelivery, endpoint: &Endpoint) -> (Delivery, Next) {
    let d = &claimed.delivery;
    let attempted_at = clock::now_rfc3339();
    let timestamp = clock::now().unix_timestamp();
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
