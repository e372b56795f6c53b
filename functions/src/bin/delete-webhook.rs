//! The `delete-webhook` function: functions/src/routes/delete_webhook.rs.
functions::main!(delete_webhook);
