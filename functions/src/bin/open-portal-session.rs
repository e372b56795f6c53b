//! The `open-portal-session` function: functions/src/routes/open_portal_session.rs.
functions::main!(open_portal_session);
