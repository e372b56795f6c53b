//! The `put-entitlement-translation` function: functions/src/routes/put_entitlement_translation.rs.
functions::main!(put_entitlement_translation);
