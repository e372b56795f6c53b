//! License keys as Dodo's LicenseKey: one per fulfilled grant (or import),
//! unique across all businesses.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    Auto,
    Manual,
    Import,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseKeyStatus {
    Active,
    Expired,
    Disabled,
}

/// A key's status is derived the same way everywhere: disabled wins, then expiry.
pub fn license_key_status(disabled: bool, expires_at: Option<&str>, now: OffsetDateTime) -> LicenseKeyStatus {
    if disabled {
        return LicenseKeyStatus::Disabled;
    }
    match expires_at.and_then(crate::clock::parse_rfc3339) {
        Some(expiry) if expiry <= now => LicenseKeyStatus::Expired,
        _ => LicenseKeyStatus::Active,
    }
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
    /// A key imported by the business for a customer: no grant, no email.
    pub fn imported(
        id: String,
        entitlement: &crate::domain::entitlement::Entitlement,
        customer_id: String,
        key: String,
        activations_limit: Option<i64>,
        expires_at: Option<String>,
        now: &str,
    ) -> Self {
        Self {
            id,
            business_id: entitlement.business_id.clone(),
            brand_id: entitlement.business_id.clone(),
            customer_id,
            key,
            product_id: entitlement.id.clone(),
            entitlement_id: entitlement.id.clone(),
            grant_id: None,
            source: KeySource::Import,
            activations_limit,
            expires_at,
            disabled: false,
            grant_revoked: false,
            instances_count: 0,
            created_at: now.to_string(),
            payment_id: None,
            subscription_id: None,
            customer_email: None,
            customer_name: None,
            product_name: Some(entitlement.name.clone()),
        }
    }

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
}

/// Changes an admin may make to a key; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct KeyChanges {
    pub activations_limit: Option<Option<i64>>,
    pub disabled: Option<bool>,
    pub expires_at: Option<Option<String>>,
}

impl KeyChanges {
    /// The key as these changes leave it, so a patch answers without reading it again.
    pub fn applied_to(&self, key: &LicenseKey) -> LicenseKey {
        let mut after = key.clone();
        if let Some(limit) = self.activations_limit {
            after.activations_limit = limit;
        }
        if let Some(disabled) = self.disabled {
            after.disabled = disabled;
        }
        if let Some(expires_at) = &self.expires_at {
            after.expires_at = expires_at.clone();
        }
        after
    }

    /// The status the grant keeps for its key after these changes: disabled or
    /// active (expiry is derived when the grant is shown).
    pub fn grant_copy_status(&self, key: &LicenseKey) -> LicenseKeyStatus {
        if self.applied_to(key).disabled || key.grant_revoked {
            LicenseKeyStatus::Disabled
        } else {
            LicenseKeyStatus::Active
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
    crate::digest::sha256_hex(key)
}
