//! The `get-grant` function: functions/src/routes/get_grant.rs.
functions::main!(get_grant);
