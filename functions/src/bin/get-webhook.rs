//! The `get-webhook` function: functions/src/routes/get_webhook.rs.
functions::main!(get_webhook);
