//! The `get-jwks` function: functions/src/routes/get_jwks.rs.
functions::main!(get_jwks);
