//! The `list-portal-entitlements` function: functions/src/routes/list_portal_entitlements.rs.
functions::main!(list_portal_entitlements);
