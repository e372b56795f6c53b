//! The `issue-grant` function: functions/src/routes/issue_grant.rs.
functions::main!(issue_grant);
