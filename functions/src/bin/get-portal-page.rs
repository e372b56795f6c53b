//! The `get-portal-page` function: functions/src/routes/get_portal_page.rs.
functions::main!(get_portal_page);
