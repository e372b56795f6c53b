//! The `assign-user-licenses` function: functions/src/routes/assign_user_licenses.rs.
functions::main!(assign_user_licenses);
