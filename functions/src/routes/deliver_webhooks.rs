//! Scheduled: fans new events out to the webhook endpoints that want them and
//! delivers what is due, signed, with backoff. The event's `work_for_seconds`
//! (0 to 40) says how long the run keeps polling for more.
use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use licensing::services::webhook_delivery;
use licensing::App;
use serde_json::{json, Value};
use std::time::Duration;

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_runtime::Error> {
    licensing::init_tracing();
    let app = App::start(App::open_table).await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let seconds = event
            .payload
            .get("work_for_seconds")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let summary = webhook_delivery::run(app, Duration::from_secs(seconds.min(40)))
            .await
            .map_err(|err| lambda_runtime::Error::from(err.message))?;
        tracing::info!(summary = %json!(summary), "webhook run");
        Ok::<_, lambda_runtime::Error>(json!(summary))
    }))
    .await
}
