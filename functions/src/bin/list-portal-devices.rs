//! The `list-portal-devices` function: functions/src/routes/list_portal_devices.rs.
functions::main!(list_portal_devices);
