//! The `create-entitlement` function: functions/src/routes/create_entitlement.rs.
functions::main!(create_entitlement);
