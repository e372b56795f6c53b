//! The `create-credit-entitlement` function: functions/src/routes/create_credit_entitlement.rs.
functions::main!(create_credit_entitlement);
