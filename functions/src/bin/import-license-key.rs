//! The `import-license-key` function: functions/src/routes/import_license_key.rs.
functions::main!(import_license_key);
