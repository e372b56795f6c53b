//! The `get-user-license-status` function: functions/src/routes/get_user_license_status.rs.
functions::main!(get_user_license_status);
