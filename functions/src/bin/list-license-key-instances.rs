//! The `list-license-key-instances` function: functions/src/routes/list_license_key_instances.rs.
functions::main!(list_license_key_instances);
