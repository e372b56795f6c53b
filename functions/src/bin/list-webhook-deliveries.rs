//! The `list-webhook-deliveries` function: functions/src/routes/list_webhook_deliveries.rs.
functions::main!(list_webhook_deliveries);
