//! The `validate-license` function: functions/src/routes/validate_license.rs.
functions::main!(validate_license);
