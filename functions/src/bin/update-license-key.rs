//! The `update-license-key` function: functions/src/routes/update_license_key.rs.
functions::main!(update_license_key);
