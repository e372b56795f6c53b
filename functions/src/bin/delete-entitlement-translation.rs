//! The `delete-entitlement-translation` function: functions/src/routes/delete_entitlement_translation.rs.
functions::main!(delete_entitlement_translation);
