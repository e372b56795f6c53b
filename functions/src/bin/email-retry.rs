//! Scheduled: sends the key emails that are queued and due, with backoff.
//! The event may carry `{"ignore_backoff": true}` to retry every queued email now.
use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use licensing::delivery::{attempt_key_email, ATTEMPT_LEASE_MS};
use licensing::domain::grant::EmailStatus;
use licensing::{clock, ApiError, App};
use serde_json::{json, Value};

/// Emails handled per run; the schedule comes round again for the rest.
const BATCH: usize = 100;

async fn run(app: &'static App, event: Value) -> Result<Value, ApiError> {
    let ignore_backoff = event.get("ignore_backoff").and_then(Value::as_bool).unwrap_or(false);
    let due_by = if ignore_backoff {
        u64::MAX / 2
    } else {
        clock::now_millis()
    };
    let (mut sent, mut queued, mut failed, mut skipped) = (0, 0, 0, 0);
    for mut grant in app.store.due_emails(due_by, BATCH).await? {
        let seen = grant.email_delivery.as_ref().map_or(0, |d| d.attempts);
        let now = clock::now_rfc3339();
        if !app
            .store
            .claim_email_attempt(&grant, seen, clock::now_millis() + ATTEMPT_LEASE_MS, &now)
            .await?
        {
            skipped += 1;
            continue;
        }
        let Some(entitlement) = app.store.entitlement(&grant.business_id, &grant.entitlement_id).await? else {
            skipped += 1;
            continue;
        };
        attempt_key_email(app, &mut grant, &entitlement, seen + 1).await?;
        match grant.email_delivery.map(|d| d.status) {
            Some(EmailStatus::Sent) => sent += 1,
            Some(EmailStatus::Failed) => failed += 1,
            _ => queued += 1,
        }
    }
    let summary = json!({ "sent": sent, "still_queued": queued, "failed": failed, "skipped": skipped });
    tracing::info!(%summary, "email retry run");
    // CloudWatch embedded metric format: the EmailQueueGrowingAlarm of template.yaml watches it.
    let metric = json!({
        "_aws": {
            "Timestamp": clock::now_millis(),
            "CloudWatchMetrics": [{ "Namespace": "Licensing", "Dimensions": [[]], "Metrics": [{ "Name": "QueuedKeyEmails", "Unit": "Count" }] }],
        },
        "QueuedKeyEmails": queued,
    });
    println!("{metric}");
    Ok(summary)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    licensing::init_tracing();
    let app: &'static App = Box::leak(Box::new(App::from_env().await));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        run(app, event.payload)
            .await
            .map_err(|err| lambda_runtime::Error::from(err.message))
    }))
    .await
}
