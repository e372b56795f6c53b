//! The `list-credit-entitlement-translations` function: functions/src/routes/list_credit_entitlement_translations.rs.
functions::main!(list_credit_entitlement_translations);
