//! The `get-credit-balance` function: functions/src/routes/get_credit_balance.rs.
functions::main!(get_credit_balance);
