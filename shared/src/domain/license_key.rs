//! License keys as Dodo's LicenseKey: one per fulfilled grant (or import),
//! unique across all businesses.

use crate::domain::refusal::Refusal;
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
    pub fn activation_blocker(&self, now: OffsetDateTime) -> Option<Refusal> {
        if self.status(now) != LicenseKeyStatus::Active {
            return Some(Refusal::inactive(
                "INACTIVE_LICENSE_KEY",
                "this license key is disabled or expired",
            ));
        }
        if self
            .activations_limit
            .is_some_and(|limit| self.instances_count >= limit)
        {
            return Some(Refusal::unprocessable(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_rfc3339;
    use crate::domain::refusal::RefusalKind;

    fn key(limit: Option<i64>, count: i64, expires_at: Option<&str>) -> LicenseKey {
        let entitlement: crate::domain::entitlement::Entitlement = serde_json::from_value(serde_json::json!({
            "id": "ent_1", "business_id": "bus_1", "name": "Pro", "description": null,
            "integration_type": "license_key", "integration_config": {}, "is_active": true,
            "metadata": {}, "created_at": "t", "updated_at": "t",
        }))
        .unwrap();
        let mut key = LicenseKey::imported(
            "lk_1".into(),
            &entitlement,
            "cus_1".into(),
            "K".into(),
            limit,
            expires_at.map(str::to_string),
            "t",
        );
        key.instances_count = count;
        key
    }

    #[test]
    fn activation_needs_an_active_key_with_a_free_slot() {
        let now = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        assert_eq!(key(Some(2), 1, None).activation_blocker(now), None);
        assert_eq!(key(None, 1000, None).activation_blocker(now), None);
        let full = key(Some(2), 2, None).activation_blocker(now).unwrap();
        assert_eq!(
            (full.kind, full.code),
            (RefusalKind::Unprocessable, "LICENSE_KEY_LIMIT_REACHED")
        );
        let expired = key(Some(2), 0, Some("2026-05-31T23:59:59Z"))
            .activation_blocker(now)
            .unwrap();
        assert_eq!(
            (expired.kind, expired.code),
            (RefusalKind::Inactive, "INACTIVE_LICENSE_KEY")
        );
        let mut revoked = key(Some(2), 0, None);
        revoked.grant_revoked = true;
        assert_eq!(revoked.activation_blocker(now).unwrap().code, "INACTIVE_LICENSE_KEY");
    }

    #[test]
    fn validation_codes_in_order_disabled_expired_instance() {
        let now = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        let live = key(Some(2), 1, Some("2027-01-01T00:00:00Z"));
        assert_eq!(live.validation_code(now, None), "VALID");
        assert_eq!(live.validation_code(now, Some(true)), "VALID");
        assert_eq!(live.validation_code(now, Some(false)), "INSTANCE_NOT_FOUND");
        let expired = key(Some(2), 1, Some("2026-01-01T00:00:00Z"));
        assert_eq!(expired.validation_code(now, Some(false)), "EXPIRED");
        let mut disabled = expired.clone();
        disabled.disabled = true;
        assert_eq!(disabled.validation_code(now, Some(true)), "DISABLED");
    }

    #[test]
    fn changes_apply_only_what_they_name() {
        let before = key(Some(2), 1, Some("2027-01-01T00:00:00Z"));
        let changes = KeyChanges {
            activations_limit: Some(None),
            disabled: Some(true),
            expires_at: None,
        };
        let after = changes.applied_to(&before);
        assert_eq!(after.activations_limit, None);
        assert!(after.disabled);
        assert_eq!(after.expires_at, before.expires_at);
        assert_eq!(changes.grant_copy_status(&before), LicenseKeyStatus::Disabled);
        let enable = KeyChanges {
            disabled: Some(false),
            ..KeyChanges::default()
        };
        assert_eq!(enable.grant_copy_status(&before), LicenseKeyStatus::Active);
        let mut revoked = before.clone();
        revoked.grant_revoked = true;
        assert_eq!(enable.grant_copy_status(&revoked), LicenseKeyStatus::Disabled);
    }
}
