//! The `download-portal-files` function: functions/src/routes/download_portal_files.rs.
functions::main!(download_portal_files);
