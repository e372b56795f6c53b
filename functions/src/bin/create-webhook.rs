//! The `create-webhook` function: functions/src/routes/create_webhook.rs.
functions::main!(create_webhook);
