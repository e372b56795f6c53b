//! The `create-portal-session` function: functions/src/routes/create_portal_session.rs.
functions::main!(create_portal_session);
