//! The `get-license-key-instance` function: functions/src/routes/get_license_key_instance.rs.
functions::main!(get_license_key_instance);
