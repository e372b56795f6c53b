//! The `email-retry` function: functions/src/routes/email_retry.rs.
functions::main!(email_retry);
