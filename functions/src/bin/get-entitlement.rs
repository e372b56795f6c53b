//! The `get-entitlement` function: functions/src/routes/get_entitlement.rs.
functions::main!(get_entitlement);
