//! Grants: one customer's right to an entitlement, and its lifecycle
//! Pending → Delivered → (Failed | Revoked).

use crate::email_retry::{email_retry_delay, EmailAttempt};
use crate::entitlement::{Entitlement, FeatureFlagConfig, FulfillmentMode, IntegrationType, Metadata};
use crate::license_key::{license_key_status, KeySource, LicenseKey, LicenseKeyStatus};
use crate::refusal::{Refusal, RuleResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum GrantStatus {
    Pending,
    Delivered,
    Failed,
    Revoked,
}

impl GrantStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Delivered, Self::Failed, Self::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Delivered => "Delivered",
            Self::Failed => "Failed",
            Self::Revoked => "Revoked",
        }
    }

    /// The `status` filter matches case-insensitively (`delivered`, `Delivered`).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(text))
    }

    /// What `filter` admits, as a regular expression for the API document.
    pub fn filter_pattern() -> String {
        let any_case = |status: Self| -> String {
            let letter = |c: char| format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase());
            status.as_str().chars().map(letter).collect()
        };
        let names: Vec<String> = Self::ALL.into_iter().map(any_case).collect();
        format!("^(?:{})$", names.join("|"))
    }

    /// A list's `status` filter, if one was given.
    pub fn filter(text: Option<&str>) -> RuleResult<Option<Self>> {
        text.map(|t| Self::parse(t).ok_or_else(|| Refusal::invalid("status", "is not a grant status")))
            .transpose()
    }
}

/// The grant's view of its license key (the Dodo SDK's `LicenseKeyGrant`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GrantLicenseKey {
    pub id: String,
    pub key: String,
    pub activations_used: i64,
    #[schema(required = true)]
    pub activations_limit: Option<i64>,
    #[schema(required = true, format = DateTime)]
    pub expires_at: Option<String>,
    pub status: LicenseKeyStatus,
    /// The key's leases, kept alongside `activations_used` so the grant shows
    /// live activations too; never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub leases: Option<crate::license_key::Leases>,
    /// The key's count is split over this many shards, which a read adds up
    /// into `activations_used`; never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub activation_shards: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EmailStatus {
    Queued,
    Sent,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EmailDelivery {
    #[schema(inline)]
    pub status: EmailStatus,
    pub attempts: u32,
    #[schema(required = true)]
    pub message_id: Option<String>,
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub sent_at: Option<String>,
}

impl EmailDelivery {
    pub fn queued() -> Self {
        Self {
            status: EmailStatus::Queued,
            attempts: 0,
            message_id: None,
            last_error: None,
            sent_at: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    #[schema(examples("entg_01JD8Q3Z5XK9V6M2N4P7R8S0TW"))]
    pub id: String,
    pub business_id: String,
    pub brand_id: String,
    pub customer_id: String,
    pub customer_email: String,
    #[schema(required = true)]
    pub customer_name: Option<String>,
    pub entitlement_id: String,
    pub integration_type: IntegrationType,
    pub status: GrantStatus,
    #[schema(schema_with = crate::metadata::metadata_shown)]
    pub metadata: Metadata,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(required = true, format = DateTime)]
    pub delivered_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub revoked_at: Option<String>,
    #[schema(required = true)]
    pub revocation_reason: Option<String>,
    /// `EMAIL_DELIVERY_FAILED` when the key email was given up.
    #[schema(required = true)]
    pub error_code: Option<String>,
    #[schema(required = true)]
    pub error_message: Option<String>,
    #[schema(required = true)]
    pub payment_id: Option<String>,
    #[schema(required = true)]
    pub subscription_id: Option<String>,
    #[schema(required = true)]
    pub license_key: Option<GrantLicenseKey>,
    #[schema(required = true)]
    pub email_delivery: Option<EmailDelivery>,
    /// A Delivered digital_files grant's files, each with a download URL
    /// minted by the read that shows it; never stored, null once revoked.
    #[schema(required = true)]
    pub digital_product_delivery: Option<crate::digital_files::DigitalProductDelivery>,
    /// The capability a `feature_flag` grant confers; null on every other type.
    #[schema(required = true)]
    pub feature: Option<FeatureFlagConfig>,
    /// Never set by this service.
    #[schema(required = true)]
    pub oauth_url: Option<String>,
    /// Never set by this service.
    #[schema(required = true)]
    pub oauth_expires_at: Option<String>,
    /// Counts the writes to the key's copy (activations, heartbeats, key
    /// changes), which a whole-grant write must not undo; never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub rev: Option<i64>,
    /// Revoked by the payment provider's event, so a later one may restore
    /// it; a grant revoked by hand never is. Never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub revoked_by_provider: Option<bool>,
    /// What confers a feature_flag grant (`grant_requests::cause`: its
    /// payments, subscriptions, the API): it stays Delivered while any does.
    /// Never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub conferred_by: Option<BTreeSet<String>>,
}

impl Grant {
    /// The grant as shown at `now`: a key whose expiry has passed reads as expired
    /// without any write having happened.
    pub fn presented(mut self, now: OffsetDateTime) -> Self {
        if let Some(key) = self.license_key.as_mut() {
            if key.status == LicenseKeyStatus::Active {
                key.status = license_key_status(false, key.expires_at.as_deref(), now);
            }
            key.activations_used = crate::license_key::live_count(key.activations_used, key.leases.as_ref(), now);
            key.leases = None;
            key.activation_shards = None;
        }
        self.rev = None;
        self.revoked_by_provider = None;
        self.conferred_by = None;
        self
    }

    /// `cause` (a payment or subscription) no longer confers the grant, for
    /// `reason`: revoked, restorable by a later event; a feature flag stays
    /// Delivered while another cause still confers it. `None` when nothing changes.
    pub fn withdrawn(&self, cause: &str, reason: &str, now: &str) -> Option<Self> {
        let Some(causes) = &self.conferred_by else {
            return self.revoked_by_provider(reason, now);
        };
        if !causes.contains(cause) {
            return None;
        }
        let mut left = causes.clone();
        left.remove(cause);
        let mut kept = self.clone();
        kept.conferred_by = Some(left);
        if kept.conferred_by.as_ref().is_some_and(BTreeSet::is_empty) {
            // Revoked with the set emptied: a cause restoring it later confers it alone.
            return kept
                .revoked_by_provider(reason, now)
                .map(|revoked| revoked.rewritten(now));
        }
        Some(kept.rewritten(now))
    }

    /// `cause` confers the grant (again): one the provider's events revoked
    /// is restored. `None` when nothing changes (and for a grant revoked by
    /// hand, which stays revoked).
    pub fn conferred(&self, cause: &str, now: &str) -> Option<Self> {
        let Some(causes) = &self.conferred_by else {
            return self.restored(now);
        };
        if self.status == GrantStatus::Revoked && self.revoked_by_provider != Some(true) {
            return None;
        }
        let mut with = self.restored(now).unwrap_or_else(|| self.clone());
        let mut all = causes.clone();
        let added = all.insert(cause.to_string());
        if !added && with.status == self.status {
            return None;
        }
        with.conferred_by = Some(all);
        Some(with.rewritten(now))
    }

    /// Whether a new grant replaces this one for `cause`: a customer holds at
    /// most one non-revoked feature flag, so one revoked by hand gives way to
    /// a cause that never conferred it (the same cause gets it back as it is,
    /// revoked, as a license key's does).
    pub fn reissuable_for(&self, cause: &str) -> bool {
        self.feature.is_some()
            && self.status == GrantStatus::Revoked
            && self.revoked_by_provider != Some(true)
            && !self.conferred_by.as_ref().is_some_and(|causes| causes.contains(cause))
    }

    /// Changed at `now`, counted in `rev`: two changes of the conferring set
    /// within one millisecond still tell apart.
    fn rewritten(mut self, now: &str) -> Self {
        self.updated_at = now.to_string();
        self.rev = Some(self.rev.unwrap_or(0) + 1);
        self
    }

    /// Revoked by the payment provider's event for `reason`: a later event of
    /// the same subscription may restore it.
    pub fn revoked_by_provider(&self, reason: &str, now: &str) -> Option<Self> {
        let mut revoked = self.revoked(reason, now)?;
        revoked.revoked_by_provider = Some(true);
        Some(revoked)
    }

    /// The grant a provider's event revoked, as it was: the same id and key,
    /// Delivered again (Pending if it never was), the revocation cleared.
    /// `None` unless the provider revoked it: a grant revoked by hand stays so.
    pub fn restored(&self, now: &str) -> Option<Self> {
        if self.status != GrantStatus::Revoked || self.revoked_by_provider != Some(true) {
            return None;
        }
        let mut restored = self.clone();
        restored.status = if restored.delivered_at.is_some() {
            GrantStatus::Delivered
        } else {
            GrantStatus::Pending
        };
        restored.revoked_at = None;
        restored.revocation_reason = None;
        restored.revoked_by_provider = None;
        restored.updated_at = now.to_string();
        if let Some(view) = restored.license_key.as_mut() {
            view.status = LicenseKeyStatus::Active;
        }
        Some(restored)
    }

    /// The grant revoked at `now` for `reason`: its key disabled, a queued email
    /// never sent. `None` when it is Revoked already (revoking again changes nothing).
    pub fn revoked(&self, reason: &str, now: &str) -> Option<Self> {
        if self.status == GrantStatus::Revoked {
            return None;
        }
        let mut revoked = self.clone();
        revoked.status = GrantStatus::Revoked;
        revoked.revoked_at = Some(now.to_string());
        revoked.revocation_reason = Some(reason.to_string());
        revoked.updated_at = now.to_string();
        if let Some(view) = revoked.license_key.as_mut() {
            view.status = LicenseKeyStatus::Disabled;
        }
        if let Some(delivery) = revoked
            .email_delivery
            .as_mut()
            .filter(|d| d.status == EmailStatus::Queued)
        {
            delivery.status = EmailStatus::Failed;
            delivery.last_error = Some("grant revoked before the email was sent".into());
        }
        Some(revoked)
    }

    /// What a resend of the key email does now: queue it again, or nothing while
    /// one is still on its way. Only a Delivered or Failed grant with a key has
    /// an email to resend, and a sent one is sent again at most once a minute,
    /// so a client retrying in a loop does not mail the customer each time.
    pub fn resend(&self, now: OffsetDateTime) -> RuleResult<Resend> {
        let eligible =
            matches!(self.status, GrantStatus::Delivered | GrantStatus::Failed) && self.license_key.is_some();
        if !eligible {
            return Err(Refusal::conflict(
                "GRANT_NOT_DELIVERED",
                "only a Delivered or Failed grant with a license key has an email to resend",
            ));
        }
        let delivery = self.email_delivery.as_ref();
        if delivery.is_some_and(|d| d.status == EmailStatus::Queued) {
            return Ok(Resend::AlreadyQueued);
        }
        let sent_at = delivery
            .filter(|d| d.status == EmailStatus::Sent)
            .and_then(|d| d.sent_at.as_deref())
            .and_then(crate::timestamp::parse_rfc3339);
        if let Some(sent_at) = sent_at {
            let wait = (sent_at + RESEND_INTERVAL - now).whole_seconds();
            if wait > 0 {
                return Err(Refusal::too_soon(
                    "RESEND_TOO_SOON",
                    "the key email was sent less than a minute ago",
                    wait as u32,
                ));
            }
        }
        Ok(Resend::Queue(Box::new(self.requeued(&crate::timestamp::rfc3339(now)))))
    }

    /// The grant with its key email queued again, its first attempt claimed by the caller.
    fn requeued(&self, now: &str) -> Self {
        Self {
            status: GrantStatus::Delivered,
            error_code: None,
            error_message: None,
            updated_at: now.to_string(),
            email_delivery: Some(EmailDelivery {
                attempts: 1,
                ..EmailDelivery::queued()
            }),
            ..self.clone()
        }
    }

    /// The grant after key-email attempt number `attempt` came to `outcome` at
    /// `now`; with the delay before the next attempt while the email stays queued.
    /// An email that cannot be delivered fails the grant; its key stays attached.
    pub fn after_email_attempt(
        &self,
        attempt: u32,
        outcome: EmailAttempt,
        now: &str,
    ) -> (Self, Option<time::Duration>) {
        let mut delivery = EmailDelivery {
            attempts: attempt,
            ..EmailDelivery::queued()
        };
        let mut retry_in = None;
        match outcome {
            EmailAttempt::Sent { message_id } => {
                delivery.status = EmailStatus::Sent;
                delivery.message_id = Some(message_id);
                delivery.sent_at = Some(now.to_string());
            }
            EmailAttempt::Transient(error) => match email_retry_delay(attempt) {
                Some(delay) => {
                    delivery.last_error = Some(error);
                    retry_in = Some(delay);
                }
                None => {
                    delivery.status = EmailStatus::Failed;
                    delivery.last_error = Some(format!("gave up after {attempt} attempts: {error}"));
                }
            },
            EmailAttempt::Permanent(error) => {
                delivery.status = EmailStatus::Failed;
                delivery.last_error = Some(error);
            }
        }
        let mut after = self.clone();
        if delivery.status == EmailStatus::Failed {
            after.status = GrantStatus::Failed;
            after.error_code = Some("EMAIL_DELIVERY_FAILED".into());
            after.error_message = delivery.last_error.clone();
        }
        after.updated_at = now.to_string();
        after.email_delivery = Some(delivery);
        (after, retry_in)
    }

    /// Attaches a key and makes the grant Delivered, with its email queued and its
    /// first attempt claimed by the caller. Returns the key's own record.
    pub fn deliver(&mut self, entitlement: &Entitlement, delivered: KeyToDeliver, now: &str) -> LicenseKey {
        let KeyToDeliver {
            id,
            key,
            source,
            activations_limit: limit,
            expires_at,
        } = delivered;
        let record = LicenseKey {
            id,
            business_id: self.business_id.clone(),
            brand_id: self.brand_id.clone(),
            customer_id: self.customer_id.clone(),
            key,
            product_id: self.entitlement_id.clone(),
            entitlement_id: self.entitlement_id.clone(),
            grant_id: Some(self.id.clone()),
            source,
            activations_limit: limit,
            expires_at,
            disabled: false,
            grant_revoked: false,
            instances_count: 0,
            created_at: now.to_string(),
            payment_id: self.payment_id.clone(),
            subscription_id: self.subscription_id.clone(),
            customer_email: Some(self.customer_email.clone()),
            customer_name: self.customer_name.clone(),
            product_name: Some(entitlement.name.clone()),
            activation_lease_seconds: None,
            offline_ttl_seconds: None,
            leases: None,
            activation_shards: None,
            shard_epoch: None,
        }
        .with_terms_of(entitlement);
        self.status = GrantStatus::Delivered;
        self.delivered_at = Some(now.to_string());
        self.updated_at = now.to_string();
        self.license_key = Some(GrantLicenseKey {
            id: record.id.clone(),
            key: record.key.clone(),
            activations_used: 0,
            activations_limit: limit,
            expires_at: record.expires_at.clone(),
            status: LicenseKeyStatus::Active,
            leases: record.leases.clone(),
            activation_shards: None,
        });
        self.email_delivery = Some(EmailDelivery {
            attempts: 1,
            ..EmailDelivery::queued()
        });
        record
    }
}

/// Why a fulfilment cannot go ahead, in the contract's order, from what was read.
pub fn fulfilment_blocker(grant: &Grant, entitlement: &Entitlement) -> Option<Refusal> {
    let config = entitlement.license_key_config();
    let Some(config) = config.filter(|_| grant.integration_type == IntegrationType::LicenseKey) else {
        return Some(Refusal::conflict(
            "GRANT_NOT_LICENSE_KEY",
            "this grant is not for a license key",
        ));
    };
    if config.fulfillment_mode != FulfillmentMode::Manual {
        return Some(Refusal::conflict(
            "NOT_MANUAL_FULFILLMENT",
            "this entitlement's keys are fulfilled automatically",
        ));
    }
    grant_state_blocker(grant)
}

/// The state part of the preconditions, which the write's condition guards again.
pub fn grant_state_blocker(grant: &Grant) -> Option<Refusal> {
    if grant.status != GrantStatus::Pending {
        return Some(Refusal::conflict(
            "GRANT_NOT_PENDING",
            format!("the grant is {}, not Pending", grant.status.as_str()),
        ));
    }
    if grant.license_key.is_some() {
        return Some(Refusal::conflict(
            "LICENSE_KEY_ALREADY_ATTACHED",
            "the grant already has a license key",
        ));
    }
    None
}

pub fn key_in_use() -> Refusal {
    Refusal::conflict("LICENSE_KEY_ALREADY_EXISTS", "this license key is already in use")
}

/// A key about to be attached to a grant: its id, value, origin and terms.
#[derive(Clone, Debug)]
pub struct KeyToDeliver {
    pub id: String,
    pub key: String,
    pub source: KeySource,
    pub activations_limit: Option<i64>,
    pub expires_at: Option<String>,
}

/// How soon a sent key email may be sent again.
pub const RESEND_INTERVAL: time::Duration = time::Duration::minutes(1);

#[derive(Clone, Debug, PartialEq)]
pub enum Resend {
    /// Queue it again: the grant as it then is.
    Queue(Box<Grant>),
    /// One is queued already; a second would mail the customer twice.
    AlreadyQueued,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email_retry::MAX_EMAIL_ATTEMPTS;
    use crate::grant_requests::NewGrant;
    use crate::refusal::RefusalKind;
    use crate::timestamp::parse_rfc3339;
    use serde_json::json;

    use crate::entitlement::license_key_entitlement as entitlement;

    fn pending_grant(entitlement: &Entitlement) -> Grant {
        let new: NewGrant = serde_json::from_value(json!({"customer_id": "c", "customer_email": "a@b.co"})).unwrap();
        new.to_grant("entg_1".into(), entitlement, "t")
    }

    #[test]
    fn only_a_grant_the_provider_revoked_is_restored_as_it_was() {
        let mut grant = pending_grant(&entitlement(json!({})));
        grant.status = GrantStatus::Delivered;
        grant.delivered_at = Some("t0".into());
        let by_hand = grant.revoked("manual", "t1").unwrap();
        assert_eq!(by_hand.restored("t2"), None);
        let by_event = grant.revoked_by_provider("subscription_cancelled", "t1").unwrap();
        assert_eq!(by_event.revocation_reason.as_deref(), Some("subscription_cancelled"));
        let restored = by_event.restored("t2").unwrap();
        assert_eq!((restored.status, &restored.id), (GrantStatus::Delivered, &grant.id));
        assert_eq!((&restored.revoked_at, &restored.revocation_reason), (&None, &None));
        assert_eq!(restored.restored("t3"), None, "only a Revoked grant is restored");
        assert_eq!(
            by_event
                .clone()
                .presented(time::OffsetDateTime::now_utc())
                .revoked_by_provider,
            None
        );
    }

    fn feature_flag_grant(payment_id: Option<&str>) -> Grant {
        let new: NewGrant =
            serde_json::from_value(json!({"customer_id": "c", "customer_email": "a@b.co", "payment_id": payment_id}))
                .unwrap();
        let flag: crate::entitlement::NewEntitlement = serde_json::from_value(json!({
            "name": "Export", "integration_type": "feature_flag",
            "integration_config": {"feature_id": "export", "feature_type": "boolean"}
        }))
        .unwrap();
        new.to_grant(
            "entg_1".into(),
            &flag.into_entitlement("ent_1".into(), "bus_1", "t0").unwrap(),
            "t0",
        )
    }

    #[test]
    fn a_feature_flag_is_delivered_at_once_with_its_feature() {
        let grant = feature_flag_grant(Some("pay_1"));
        assert_eq!(grant.status, GrantStatus::Delivered);
        assert_eq!(grant.delivered_at.as_deref(), Some("t0"));
        let feature = grant.feature.clone().unwrap();
        assert_eq!(
            (feature.feature_id.as_str(), feature.feature_type),
            ("export", crate::entitlement::FeatureType::Boolean)
        );
        let shown = serde_json::to_value(grant.presented(time::OffsetDateTime::now_utc())).unwrap();
        assert_eq!(
            shown["feature"],
            json!({"feature_id": "export", "feature_type": "boolean"})
        );
        assert!(shown.get("conferred_by").is_none(), "never shown");
        assert_eq!(pending_grant(&entitlement(json!({}))).feature, None);
    }

    #[test]
    fn a_feature_flag_stays_while_any_cause_confers_it() {
        let grant = feature_flag_grant(Some("pay_1"));
        let both = grant.conferred("sub:s1", "t1").unwrap();
        assert_eq!(both.status, GrantStatus::Delivered);
        assert_eq!(
            both.conferred("sub:s1", "t2"),
            None,
            "conferred already: nothing changes"
        );
        // The refund withdraws one cause; the subscription still confers it.
        let kept = both.withdrawn("pay:pay_1", "refund", "t2").unwrap();
        assert_eq!(
            (kept.status, kept.revoked_at.as_deref()),
            (GrantStatus::Delivered, None)
        );
        assert!(kept.rev > both.rev, "a change of the set is counted");
        assert_eq!(kept.withdrawn("pay:pay_1", "refund", "t3"), None, "withdrawn already");
        // The last cause gone: revoked, restorable.
        let revoked = kept.withdrawn("sub:s1", "subscription_cancelled", "t3").unwrap();
        assert_eq!(revoked.status, GrantStatus::Revoked);
        assert_eq!(revoked.revocation_reason.as_deref(), Some("subscription_cancelled"));
        let restored = revoked.conferred("sub:s2", "t4").unwrap();
        assert_eq!((restored.status, &restored.id), (GrantStatus::Delivered, &grant.id));
        assert_eq!(restored.revoked_at, None);
        // Restored by another cause, which alone confers it now: the first one's end changes nothing,
        // its own revokes it.
        assert_eq!(restored.conferred_by, Some(["sub:s2".to_string()].into()));
        assert_eq!(restored.withdrawn("sub:s1", "subscription_cancelled", "t5"), None);
        let again = restored.withdrawn("sub:s2", "subscription_expired", "t5").unwrap();
        assert_eq!(again.status, GrantStatus::Revoked);
        assert!(again.rev > restored.rev);
        // Revoked by hand: no cause brings it back; a cause that never conferred it replaces it.
        let by_hand = restored.revoked("manual", "t5").unwrap();
        assert_eq!(by_hand.conferred("sub:s3", "t6"), None);
        assert!(by_hand.reissuable_for("sub:s3"));
        assert!(!by_hand.reissuable_for("sub:s2"), "its own cause gets it back revoked");
        assert!(!again.reissuable_for("sub:s3"), "revoked by an event: restored instead");
        let mut key_grant = pending_grant(&entitlement(json!({})));
        key_grant.status = GrantStatus::Revoked;
        assert!(
            !key_grant.reissuable_for("sub:s3"),
            "a license key's grant is unique per cause already"
        );
    }

    #[test]
    fn a_license_key_grant_is_withdrawn_and_conferred_whole() {
        let mut grant = pending_grant(&entitlement(json!({})));
        grant.status = GrantStatus::Delivered;
        grant.delivered_at = Some("t0".into());
        let revoked = grant.withdrawn("sub:s1", "subscription_paused", "t1").unwrap();
        assert_eq!(revoked.status, GrantStatus::Revoked);
        assert_eq!(
            revoked.conferred("sub:s1", "t2").unwrap().status,
            GrantStatus::Delivered
        );
    }

    #[test]
    fn the_filter_pattern_admits_each_status_in_any_letter_case() {
        assert_eq!(
            GrantStatus::filter_pattern(),
            "^(?:[Pp][Ee][Nn][Dd][Ii][Nn][Gg]|[Dd][Ee][Ll][Ii][Vv][Ee][Rr][Ee][Dd]|[Ff][Aa][Ii][Ll][Ee][Dd]|[Rr][Ee][Vv][Oo][Kk][Ee][Dd])$"
        );
        for status in GrantStatus::ALL {
            assert_eq!(
                GrantStatus::filter(Some(&status.as_str().to_uppercase())),
                Ok(Some(status))
            );
        }
    }

    #[test]
    fn fulfilment_preconditions_in_contract_order() {
        let manual = entitlement(json!({"fulfillment_mode": "manual"}));
        let mut grant = pending_grant(&manual);
        assert_eq!(fulfilment_blocker(&grant, &manual), None);

        let auto = entitlement(json!({}));
        assert_eq!(
            fulfilment_blocker(&grant, &auto).unwrap().code,
            "NOT_MANUAL_FULFILLMENT"
        );

        let mut discord = manual.clone();
        discord.integration_type = IntegrationType::Discord;
        grant.integration_type = IntegrationType::Discord;
        assert_eq!(
            fulfilment_blocker(&grant, &discord).unwrap().code,
            "GRANT_NOT_LICENSE_KEY"
        );

        let mut grant = pending_grant(&manual);
        grant.status = GrantStatus::Revoked;
        grant.license_key = Some(GrantLicenseKey {
            id: "lk".into(),
            key: "k".into(),
            activations_used: 0,
            activations_limit: None,
            expires_at: None,
            status: LicenseKeyStatus::Active,
            leases: None,
            activation_shards: None,
        });
        assert_eq!(fulfilment_blocker(&grant, &manual).unwrap().code, "GRANT_NOT_PENDING");
        grant.status = GrantStatus::Pending;
        assert_eq!(
            fulfilment_blocker(&grant, &manual).unwrap().code,
            "LICENSE_KEY_ALREADY_ATTACHED"
        );
    }

    #[test]
    fn status_filter_is_case_insensitive() {
        assert_eq!(GrantStatus::parse("delivered"), Some(GrantStatus::Delivered));
        assert_eq!(GrantStatus::parse("REVOKED"), Some(GrantStatus::Revoked));
        assert_eq!(GrantStatus::parse("gone"), None);
    }

    fn delivered_grant() -> (Entitlement, Grant) {
        let manual = entitlement(json!({"fulfillment_mode": "manual", "activations_limit": 2}));
        let mut grant = pending_grant(&manual);
        let key = KeyToDeliver {
            id: "lk_1".into(),
            key: "K-1".into(),
            source: KeySource::Manual,
            activations_limit: Some(2),
            expires_at: None,
        };
        let record = grant.deliver(&manual, key, "2026-01-01T00:00:00.000Z");
        assert_eq!(
            (record.id.as_str(), record.grant_id.as_deref()),
            ("lk_1", Some("entg_1"))
        );
        (manual, grant)
    }

    #[test]
    fn delivery_attaches_the_key_and_queues_its_first_attempt() {
        let (_, grant) = delivered_grant();
        assert_eq!(grant.status, GrantStatus::Delivered);
        assert_eq!(grant.license_key.as_ref().unwrap().activations_limit, Some(2));
        let delivery = grant.email_delivery.unwrap();
        assert_eq!((delivery.status, delivery.attempts), (EmailStatus::Queued, 1));
    }

    #[test]
    fn email_attempt_outcomes() {
        let (_, grant) = delivered_grant();
        let now = "2026-01-01T00:01:00.000Z";

        let (sent, retry) = grant.after_email_attempt(
            1,
            EmailAttempt::Sent {
                message_id: "m1".into(),
            },
            now,
        );
        let delivery = sent.email_delivery.as_ref().unwrap();
        assert_eq!(
            (delivery.status, delivery.message_id.as_deref()),
            (EmailStatus::Sent, Some("m1"))
        );
        assert_eq!((sent.status, retry), (GrantStatus::Delivered, None));

        let (queued, retry) = grant.after_email_attempt(1, EmailAttempt::Transient("throttled".into()), now);
        assert_eq!(queued.email_delivery.as_ref().unwrap().status, EmailStatus::Queued);
        assert_eq!(retry, Some(time::Duration::minutes(1)));
        assert_eq!(queued.status, GrantStatus::Delivered);

        let (gave_up, retry) =
            grant.after_email_attempt(MAX_EMAIL_ATTEMPTS, EmailAttempt::Transient("down".into()), now);
        assert_eq!(retry, None);
        assert_eq!(gave_up.status, GrantStatus::Failed);
        assert_eq!(gave_up.error_code.as_deref(), Some("EMAIL_DELIVERY_FAILED"));
        assert!(gave_up
            .error_message
            .as_deref()
            .unwrap()
            .contains("gave up after 8 attempts"));
        assert!(gave_up.license_key.is_some(), "the key stays attached");

        let (rejected, retry) = grant.after_email_attempt(2, EmailAttempt::Permanent("bad address".into()), now);
        assert_eq!((rejected.status, retry), (GrantStatus::Failed, None));
        assert_eq!(rejected.error_message.as_deref(), Some("bad address"));
        assert_eq!(rejected.updated_at, now);
    }

    #[test]
    fn revoking_disables_the_key_and_fails_a_queued_email_once() {
        let (_, grant) = delivered_grant();
        let revoked = grant.revoked("refund", "2026-02-01T00:00:00.000Z").unwrap();
        assert_eq!(revoked.status, GrantStatus::Revoked);
        assert_eq!(revoked.revocation_reason.as_deref(), Some("refund"));
        assert_eq!(revoked.license_key.as_ref().unwrap().status, LicenseKeyStatus::Disabled);
        assert_eq!(revoked.email_delivery.as_ref().unwrap().status, EmailStatus::Failed);
        assert_eq!(revoked.revoked("again", "later"), None);
    }

    #[test]
    fn resend_rules() {
        let now = parse_rfc3339("2026-01-01T00:10:00Z").unwrap();
        let (manual, grant) = delivered_grant();
        assert_eq!(
            pending_grant(&manual).resend(now).unwrap_err().code,
            "GRANT_NOT_DELIVERED"
        );
        let revoked = grant.revoked("r", "2026-01-01T00:00:00.000Z").unwrap();
        assert_eq!(revoked.resend(now).unwrap_err().code, "GRANT_NOT_DELIVERED");
        // Still queued from delivery: nothing more to do.
        assert_eq!(grant.resend(now).unwrap(), Resend::AlreadyQueued);

        let (failed, _) =
            grant.after_email_attempt(1, EmailAttempt::Permanent("no".into()), "2026-01-01T00:09:59.000Z");
        let Resend::Queue(requeued) = failed.resend(now).unwrap() else {
            panic!("a failed email is resent at once")
        };
        assert_eq!(
            (requeued.status, requeued.error_code.as_deref()),
            (GrantStatus::Delivered, None)
        );
        assert_eq!(requeued.updated_at, "2026-01-01T00:10:00.000Z");
        assert_eq!(requeued.email_delivery.as_ref().unwrap().attempts, 1);

        let sent = |at: &str| {
            grant
                .after_email_attempt(1, EmailAttempt::Sent { message_id: "m".into() }, at)
                .0
        };
        let too_soon = sent("2026-01-01T00:09:30.000Z").resend(now).unwrap_err();
        assert_eq!(
            (too_soon.code, too_soon.kind),
            ("RESEND_TOO_SOON", RefusalKind::TooSoon(30))
        );
        assert!(matches!(
            sent("2026-01-01T00:09:00.000Z").resend(now).unwrap(),
            Resend::Queue(_)
        ));
    }
}
