//! The `get-service-license` function: functions/src/routes/get_service_license.rs.
functions::main!(get_service_license);
