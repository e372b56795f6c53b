//! License keys as Dodo's LicenseKey: one per fulfilled grant (or import),
//! unique across all businesses.

use crate::domain::grant::{license_key_status, GrantLicenseKey, LicenseKeyStatus};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    Auto,
    Manual,
    Import,
}

/// The stored license key; `status` is derived when it is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseKey {
    pub id: String,
    pub business_id: String,
    pub brand_id: String,
    pub customer_id: String,
    pub key: String,
    pub product_id: String,
    pub entitlement_id: String,
    pub grant_id: Option<String>,
    pub source: KeySource,
    pub activations_limit: Option<i64>,
    pub expires_at: Option<String>,
    pub disabled: bool,
    pub instances_count: i64,
    pub created_at: String,
    pub payment_id: Option<String>,
    pub subscription_id: Option<String>,
}

impl LicenseKey {
    pub fn status(&self, now: OffsetDateTime) -> LicenseKeyStatus {
        license_key_status(self.disabled, self.expires_at.as_deref(), now)
    }

    /// The key as a grant shows it.
    pub fn grant_view(&self, now: OffsetDateTime) -> GrantLicenseKey {
        GrantLicenseKey {
            id: self.id.clone(),
            key: self.key.clone(),
            activations_used: self.instances_count,
            activations_limit: self.activations_limit,
            expires_at: self.expires_at.clone(),
            status: self.status(now),
        }
    }
}

/// Keys are looked up by this digest, so the table's keys never hold a license key.
pub fn key_digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
