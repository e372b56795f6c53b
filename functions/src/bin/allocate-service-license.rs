//! The `allocate-service-license` function: functions/src/routes/allocate_service_license.rs.
functions::main!(allocate_service_license);
