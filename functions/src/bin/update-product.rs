//! The `update-product` function: functions/src/routes/update_product.rs.
functions::main!(update_product);
