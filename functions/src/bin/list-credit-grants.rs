//! The `list-credit-grants` function: functions/src/routes/list_credit_grants.rs.
functions::main!(list_credit_grants);
