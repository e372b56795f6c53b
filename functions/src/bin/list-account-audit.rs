//! The `list-account-audit` function: functions/src/routes/list_account_audit.rs.
functions::main!(list_account_audit);
