//! The `get-organization-license` function: functions/src/routes/get_organization_license.rs.
functions::main!(get_organization_license);
