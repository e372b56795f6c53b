//! The `update-webhook-headers` function: functions/src/routes/update_webhook_headers.rs.
functions::main!(update_webhook_headers);
