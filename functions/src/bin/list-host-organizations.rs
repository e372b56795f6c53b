//! The `list-host-organizations` function: functions/src/routes/list_host_organizations.rs.
functions::main!(list_host_organizations);
