//! The `list-credit-entitlements` function: functions/src/routes/list_credit_entitlements.rs.
functions::main!(list_credit_entitlements);
