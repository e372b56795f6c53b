//! The `list-service-licenses` function: functions/src/routes/list_service_licenses.rs.
functions::main!(list_service_licenses);
