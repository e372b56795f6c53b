//! The `upload-entitlement-file` function: functions/src/routes/upload_entitlement_file.rs.
functions::main!(upload_entitlement_file);
