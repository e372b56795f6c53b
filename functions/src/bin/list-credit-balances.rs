//! The `list-credit-balances` function: functions/src/routes/list_credit_balances.rs.
functions::main!(list_credit_balances);
