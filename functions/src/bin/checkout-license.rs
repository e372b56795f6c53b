//! The `checkout-license` function: functions/src/routes/checkout_license.rs.
functions::main!(checkout_license);
