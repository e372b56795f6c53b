//! Scheduled: sends the key emails that are queued and due, with backoff.
//! The event may carry `{"ignore_backoff": true}` to retry every queued email now.
use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use licensing::services::key_email;
use licensing::{clock, App};
use serde_json::{json, Value};

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_runtime::Error> {
    licensing::init_tracing();
    let app = App::start(App::open_table).await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let ignore_backoff = event.payload.get("ignore_backoff").and_then(Value::as_bool) == Some(true);
        let summary = key_email::retry_due(app, ignore_backoff)
            .await
            .map_err(|err| lambda_runtime::Error::from(err.message))?;
        tracing::info!(?summary, "email retry run");
        // CloudWatch embedded metric format: the EmailQueueGrowingAlarm of template.yaml watches it.
        println!("{}", json!({
            "_aws": {
                "Timestamp": clock::now_millis(),
                "CloudWatchMetrics": [{ "Namespace": "Licensing", "Dimensions": [[]], "Metrics": [{ "Name": "QueuedKeyEmails", "Unit": "Count" }] }],
            },
            "QueuedKeyEmails": summary.still_queued,
        }));
        Ok::<_, lambda_runtime::Error>(json!(summary))
    }))
    .await
}
