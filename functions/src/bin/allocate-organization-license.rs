//! The `allocate-organization-license` function: functions/src/routes/allocate_organization_license.rs.
functions::main!(allocate_organization_license);
