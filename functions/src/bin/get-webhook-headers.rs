//! The `get-webhook-headers` function: functions/src/routes/get_webhook_headers.rs.
functions::main!(get_webhook_headers);
