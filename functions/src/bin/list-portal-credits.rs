//! The `list-portal-credits` function: functions/src/routes/list_portal_credits.rs.
functions::main!(list_portal_credits);
