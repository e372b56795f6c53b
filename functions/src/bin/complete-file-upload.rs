//! The `complete-file-upload` function: functions/src/routes/complete_file_upload.rs.
functions::main!(complete_file_upload);
