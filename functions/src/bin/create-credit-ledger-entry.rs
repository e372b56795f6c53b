//! The `create-credit-ledger-entry` function: functions/src/routes/create_credit_ledger_entry.rs.
functions::main!(create_credit_ledger_entry);
