//! The `update-payment-provider` function: functions/src/routes/update_payment_provider.rs.
functions::main!(update_payment_provider);
