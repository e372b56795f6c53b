//! The `list-entitlement-translations` function: functions/src/routes/list_entitlement_translations.rs.
functions::main!(list_entitlement_translations);
