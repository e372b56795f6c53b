//! The `release-user-license` function: functions/src/routes/release_user_license.rs.
functions::main!(release_user_license);
