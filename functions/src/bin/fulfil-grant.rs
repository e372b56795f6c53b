//! The `fulfil-grant` function: functions/src/routes/fulfil_grant.rs.
functions::main!(fulfil_grant);
