//! The `list-user-licenses` function: functions/src/routes/list_user_licenses.rs.
functions::main!(list_user_licenses);
