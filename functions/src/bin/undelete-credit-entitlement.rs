//! The `undelete-credit-entitlement` function: functions/src/routes/undelete_credit_entitlement.rs.
functions::main!(undelete_credit_entitlement);
