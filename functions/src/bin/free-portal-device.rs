//! The `free-portal-device` function: functions/src/routes/free_portal_device.rs.
functions::main!(free_portal_device);
