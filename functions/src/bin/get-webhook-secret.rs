//! The `get-webhook-secret` function: functions/src/routes/get_webhook_secret.rs.
functions::main!(get_webhook_secret);
