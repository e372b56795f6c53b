//! The `activate-license` function: functions/src/routes/activate_license.rs.
functions::main!(activate_license);
