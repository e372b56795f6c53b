//! The `get-license-key` function: functions/src/routes/get_license_key.rs.
functions::main!(get_license_key);
