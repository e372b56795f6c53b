//! Pure rules: no I/O here, so every rule is a plain function with unit tests.

pub mod allocation;
pub mod email;
pub mod entitlement;
pub mod grant;
pub mod license_key;
