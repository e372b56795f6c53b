//! The `delete-credit-entitlement` function: functions/src/routes/delete_credit_entitlement.rs.
functions::main!(delete_credit_entitlement);
