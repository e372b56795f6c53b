//! The `list-license-keys` function: functions/src/routes/list_license_keys.rs.
functions::main!(list_license_keys);
