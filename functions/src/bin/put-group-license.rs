//! The `put-group-license` function: functions/src/routes/put_group_license.rs.
functions::main!(put_group_license);
