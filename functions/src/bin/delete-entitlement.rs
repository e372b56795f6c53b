//! The `delete-entitlement` function: functions/src/routes/delete_entitlement.rs.
functions::main!(delete_entitlement);
