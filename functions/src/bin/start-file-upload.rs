//! The `start-file-upload` function: functions/src/routes/start_file_upload.rs.
functions::main!(start_file_upload);
