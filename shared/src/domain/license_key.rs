//! License keys as Dodo's LicenseKey: one per fulfilled grant (or import),
//! unique across all businesses.

use crate::domain::grant::{license_key_status, GrantLicenseKey, LicenseKeyStatus};
use crate::error::ApiError;
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
    /// Set when the grant that delivered the key is revoked; a patch cannot undo it.
    #[serde(default)]
    pub grant_revoked: bool,
    pub instances_count: i64,
    pub created_at: String,
    pub payment_id: Option<String>,
    pub subscription_id: Option<String>,
    /// Denormalised for the public activate answer, which reads nothing else.
    #[serde(default)]
    pub customer_email: Option<String>,
    #[serde(default)]
    pub customer_name: Option<String>,
    #[serde(default)]
    pub product_name: Option<String>,
}

impl LicenseKey {
    pub fn status(&self, now: OffsetDateTime) -> LicenseKeyStatus {
        license_key_status(self.disabled || self.grant_revoked, self.expires_at.as_deref(), now)
    }

    /// Dodo's LicenseKey as the admin routes show it.
    pub fn view(&self, now: OffsetDateTime) -> LicenseKeyView<'_> {
        LicenseKeyView {
            key: self,
            status: self.status(now),
        }
    }

    /// Why this key cannot take one more activation now, if it cannot.
    pub fn activation_blocker(&self, now: OffsetDateTime) -> Option<ApiError> {
        if self.status(now) != LicenseKeyStatus::Active {
            return Some(ApiError::new(
                403,
                "INACTIVE_LICENSE_KEY",
                "this license key is disabled or expired",
            ));
        }
        if self
            .activations_limit
            .is_some_and(|limit| self.instances_count >= limit)
        {
            return Some(ApiError::unprocessable(
                "LICENSE_KEY_LIMIT_REACHED",
                "this license key has no activations left",
            ));
        }
        None
    }

    /// The `code` of a validation: why the key (and instance) are or are not valid.
    pub fn validation_code(&self, now: OffsetDateTime, instance_belongs: Option<bool>) -> &'static str {
        match self.status(now) {
            LicenseKeyStatus::Disabled => "DISABLED",
            LicenseKeyStatus::Expired => "EXPIRED",
            LicenseKeyStatus::Active if instance_belongs == Some(false) => "INSTANCE_NOT_FOUND",
            LicenseKeyStatus::Active => "VALID",
        }
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

#[derive(Serialize)]
pub struct LicenseKeyView<'a> {
    #[serde(flatten)]
    key: &'a LicenseKey,
    status: LicenseKeyStatus,
}

/// One activation of a license key (Dodo's LicenseKeyInstance).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub business_id: String,
    pub license_key_id: String,
    pub name: String,
    pub created_at: String,
    #[serde(skip_serializing)]
    #[serde(default)]
    pub key_digest: String,
}

pub const INSTANCE_NAME_MAX: usize = 255;

/// Keys are looked up by this digest, so the table's keys never hold a license key.
pub fn key_digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
