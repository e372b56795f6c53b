//! The `get-portal-asset` function: functions/src/routes/get_portal_asset.rs.
functions::main!(get_portal_asset);
