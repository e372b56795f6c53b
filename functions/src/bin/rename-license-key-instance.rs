//! The `rename-license-key-instance` function: functions/src/routes/rename_license_key_instance.rs.
functions::main!(rename_license_key_instance);
