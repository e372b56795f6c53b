//! The `delete-entitlement-file` function: functions/src/routes/delete_entitlement_file.rs.
functions::main!(delete_entitlement_file);
