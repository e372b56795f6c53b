//! Pure rules and the wire shapes of the three families: no I/O, ids, clock or
//! HTTP status here (Cargo keeps the AWS SDK, tokio and Lambda out of this
//! crate), so every rule is a plain function with unit tests. A rule that says
//! no returns a `Refusal`.

pub mod allocation;
pub mod calendar;
pub mod credit;
pub mod customer_entitlements;
pub mod digest;
pub mod digital_files;
pub mod email;
pub mod email_retry;
pub mod entitlement;
pub mod grant;
pub mod grant_requests;
pub mod json;
pub mod key_generation;
pub mod license_key;
pub mod metadata;
pub mod offline_license;
pub mod payment_provider;
pub mod portal;
pub mod principal;
pub mod product;
pub mod provider_event;
pub mod refusal;
pub mod schema;
pub mod shards;
pub mod standard_webhooks;
pub mod timestamp;
pub mod translation;
pub mod upload_policy;
pub mod webhook;
pub mod wire;
