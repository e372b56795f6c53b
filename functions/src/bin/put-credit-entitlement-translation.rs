//! The `put-credit-entitlement-translation` function: functions/src/routes/put_credit_entitlement_translation.rs.
functions::main!(put_credit_entitlement_translation);
