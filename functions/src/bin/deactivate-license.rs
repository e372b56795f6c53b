//! The `deactivate-license` function: functions/src/routes/deactivate_license.rs.
functions::main!(deactivate_license);
