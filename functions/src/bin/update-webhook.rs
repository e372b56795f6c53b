//! The `update-webhook` function: functions/src/routes/update_webhook.rs.
functions::main!(update_webhook);
