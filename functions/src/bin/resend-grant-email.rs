//! The `resend-grant-email` function: functions/src/routes/resend_grant_email.rs.
functions::main!(resend_grant_email);
