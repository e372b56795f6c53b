//! The `get-product` function: functions/src/routes/get_product.rs.
functions::main!(get_product);
