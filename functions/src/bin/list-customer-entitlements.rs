//! The `list-customer-entitlements` function: functions/src/routes/list_customer_entitlements.rs.
functions::main!(list_customer_entitlements);
