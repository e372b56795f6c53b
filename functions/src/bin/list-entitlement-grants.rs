//! The `list-entitlement-grants` function: functions/src/routes/list_entitlement_grants.rs.
functions::main!(list_entitlement_grants);
