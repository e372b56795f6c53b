//! The `delete-credit-entitlement-translation` function: functions/src/routes/delete_credit_entitlement_translation.rs.
functions::main!(delete_credit_entitlement_translation);
