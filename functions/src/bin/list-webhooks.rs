//! The `list-webhooks` function: functions/src/routes/list_webhooks.rs.
functions::main!(list_webhooks);
