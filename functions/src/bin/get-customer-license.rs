//! The `get-customer-license` function: functions/src/routes/get_customer_license.rs.
functions::main!(get_customer_license);
