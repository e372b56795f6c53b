//! The `get-portal-profile` function: functions/src/routes/get_portal_profile.rs.
functions::main!(get_portal_profile);
