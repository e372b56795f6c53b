//! The `list-customer-grants` function: functions/src/routes/list_customer_grants.rs.
functions::main!(list_customer_grants);
