//! The `expire-credits` function: functions/src/routes/expire_credits.rs.
functions::main!(expire_credits);
