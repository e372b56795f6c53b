//! The `list-entitlements` function: functions/src/routes/list_entitlements.rs.
functions::main!(list_entitlements);
