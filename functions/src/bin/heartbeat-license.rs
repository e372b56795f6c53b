//! The `heartbeat-license` function: functions/src/routes/heartbeat_license.rs.
functions::main!(heartbeat_license);
