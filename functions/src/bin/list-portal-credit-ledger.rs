//! The `list-portal-credit-ledger` function: functions/src/routes/list_portal_credit_ledger.rs.
functions::main!(list_portal_credit_ledger);
