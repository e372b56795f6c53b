//! The `get-portal-business` function: functions/src/routes/get_portal_business.rs.
functions::main!(get_portal_business);
