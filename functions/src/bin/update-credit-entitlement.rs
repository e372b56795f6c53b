//! The `update-credit-entitlement` function: functions/src/routes/update_credit_entitlement.rs.
functions::main!(update_credit_entitlement);
