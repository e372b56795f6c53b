//! The `put-host-license` function: functions/src/routes/put_host_license.rs.
functions::main!(put_host_license);
