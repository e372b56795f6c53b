//! Scheduled: expires the credit grants past their expiry, each with its
//! `credit_expired` ledger entry and `credit.expired` event.
use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use licensing::services::credits;
use licensing::App;
use serde_json::{json, Value};

/// Serves this function's scheduled events until the runtime stops.
pub async fn serve() -> Result<(), lambda_runtime::Error> {
    licensing::init_tracing();
    let app = App::start(App::open_table).await;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let summary = credits::expire_due(app)
            .await
            .map_err(|err| lambda_runtime::Error::from(err.message))?;
        tracing::info!(?summary, "credit expiry run");
        Ok::<_, lambda_runtime::Error>(json!(summary))
    }))
    .await
}
