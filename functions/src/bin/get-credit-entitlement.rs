//! The `get-credit-entitlement` function: functions/src/routes/get_credit_entitlement.rs.
functions::main!(get_credit_entitlement);
