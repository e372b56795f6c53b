//! Pure rules: no I/O, ids, clock or HTTP status here, so every rule is a plain
//! function with unit tests. A rule that says no returns a `Refusal`.

pub mod allocation;
pub mod calendar;
pub mod customer_entitlements;
pub mod email;
pub mod email_retry;
pub mod entitlement;
pub mod grant;
pub mod grant_requests;
pub mod key_generation;
pub mod license_key;
pub mod offline_license;
pub mod refusal;
pub mod shards;
pub mod webhook;
