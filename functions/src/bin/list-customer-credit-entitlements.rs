//! The `list-customer-credit-entitlements` function: functions/src/routes/list_customer_credit_entitlements.rs.
functions::main!(list_customer_credit_entitlements);
