//! The `deliver-webhooks` function: functions/src/routes/deliver_webhooks.rs.
functions::main!(deliver_webhooks);
