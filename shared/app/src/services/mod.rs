//! One application service per capability: each reads what it needs, asks the
//! pure rules in `domain`, commits one guarded transaction (with its audit and
//! its Idempotency-Key answer) through `store`, then does its side effects.

pub mod allocation;
pub mod credit_shards;
pub mod credits;
pub mod digital_files;
pub mod entitlements;
pub mod events;
pub mod grants;
pub mod key_email;
pub mod license_keys;
pub mod license_status;
pub mod licenses;
pub mod payment_providers;
pub mod portal;
pub mod products;
pub mod provider_events;
pub mod translations;
pub mod webhook_delivery;
pub mod webhooks;
