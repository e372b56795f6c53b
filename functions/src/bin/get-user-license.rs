//! The `get-user-license` function: functions/src/routes/get_user_license.rs.
functions::main!(get_user_license);
