//! The `update-entitlement` function: functions/src/routes/update_entitlement.rs.
functions::main!(update_entitlement);
