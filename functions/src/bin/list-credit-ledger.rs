//! The `list-credit-ledger` function: functions/src/routes/list_credit_ledger.rs.
functions::main!(list_credit_ledger);
