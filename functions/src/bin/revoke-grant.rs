//! The `revoke-grant` function: functions/src/routes/revoke_grant.rs.
functions::main!(revoke_grant);
