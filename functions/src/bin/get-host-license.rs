//! The `get-host-license` function: functions/src/routes/get_host_license.rs.
functions::main!(get_host_license);
