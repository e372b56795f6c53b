//! The `get-group-license` function: functions/src/routes/get_group_license.rs.
functions::main!(get_group_license);
