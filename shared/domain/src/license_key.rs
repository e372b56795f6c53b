//! License keys as Dodo's LicenseKey: one per fulfilled grant (or import),
//! unique across all businesses.

use crate::refusal::Refusal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A leased key's instances that still count, each with when its lease ends
/// (unix ms). Kept on the key so one read tells how many are live.
pub type Leases = BTreeMap<String, i64>;

/// Expired instances one activation reclaims at most, so its transaction stays
/// far below DynamoDB's 100 actions; one is enough to free a slot.
pub const RECLAIM_MAX: usize = 20;

pub use crate::entitlement::LEASED_LIMIT_MAX;

pub fn unix_ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// How many of `stored` instances are live at `now`: a lease that has ended no
/// longer counts, whether or not its instance has been reclaimed yet.
pub fn live_count(stored: i64, leases: Option<&Leases>, now: OffsetDateTime) -> i64 {
    let now_ms = unix_ms(now);
    stored - leases.map_or(0, |l| l.values().filter(|&&until| until <= now_ms).count() as i64)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    Auto,
    Manual,
    Import,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    match expires_at.and_then(crate::timestamp::parse_rfc3339) {
        Some(expiry) if expiry <= now => LicenseKeyStatus::Expired,
        _ => LicenseKeyStatus::Active,
    }
}

/// The stored license key; `status` is derived when it is shown (`LicenseKeyView`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LicenseKey {
    #[schema(examples("lk_01JD8Q3Z5XK9V6M2N4P7R8S0TW"))]
    pub id: String,
    pub business_id: String,
    pub brand_id: String,
    pub customer_id: String,
    pub key: String,
    /// The entitlement's id.
    pub product_id: String,
    pub entitlement_id: String,
    /// null for an imported key.
    #[schema(required = true)]
    pub grant_id: Option<String>,
    #[schema(inline)]
    pub source: KeySource,
    #[schema(required = true)]
    pub activations_limit: Option<i64>,
    #[schema(required = true, format = DateTime)]
    pub expires_at: Option<String>,
    pub disabled: bool,
    /// The delivering grant was revoked; the key stays disabled.
    #[serde(default)]
    pub grant_revoked: bool,
    /// Live instances (a leased instance past its `expires_at` no longer counts).
    pub instances_count: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(required = true)]
    pub payment_id: Option<String>,
    #[schema(required = true)]
    pub subscription_id: Option<String>,
    /// Denormalised for the public activate answer, which reads nothing else.
    #[serde(default)]
    #[schema(required = true)]
    pub customer_email: Option<String>,
    #[serde(default)]
    #[schema(required = true)]
    pub customer_name: Option<String>,
    #[serde(default)]
    #[schema(required = true)]
    pub product_name: Option<String>,
    /// Beyond Dodo: the entitlement's lease when the key was made; null for none.
    #[serde(default)]
    #[schema(required = true)]
    pub activation_lease_seconds: Option<i64>,
    /// Beyond Dodo: the entitlement's offline TTL when the key was made; null for the default.
    #[serde(default)]
    #[schema(required = true)]
    pub offline_ttl_seconds: Option<i64>,
    /// Present exactly when the key is leased; never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub leases: Option<Leases>,
    /// Beyond Dodo: how many items share the key's activation count, when it
    /// is split (`PATCH` with `activation_shards`); absent while one holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(inline, value_type = Option<ShardCount>)]
    pub activation_shards: Option<u32>,
    /// The state of a sharded key its shards were written under; never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub shard_epoch: Option<i64>,
}

/// How many shards a key's activations may be split over.
pub type ShardCount = crate::json::Bounded<{ crate::shards::MIN_SHARDS as i64 }, { crate::shards::MAX_SHARDS as i64 }>;

/// What one activation does: the new instance's lease, and the expired
/// instances it removes in the same transaction.
#[derive(Debug, PartialEq, Eq)]
pub struct Activation {
    pub lease_until_ms: Option<i64>,
    pub reclaim: Vec<(String, i64)>,
}

impl LicenseKey {
    /// A key imported by the business for a customer: no grant, no email.
    pub fn imported(
        id: String,
        entitlement: &crate::entitlement::Entitlement,
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
            activation_lease_seconds: None,
            offline_ttl_seconds: None,
            leases: None,
            activation_shards: None,
            shard_epoch: None,
        }
        .with_terms_of(entitlement)
    }

    /// The entitlement's lease and offline terms, as of the key's making.
    pub fn with_terms_of(mut self, entitlement: &crate::entitlement::Entitlement) -> Self {
        let config = entitlement.license_key_config().unwrap_or_default();
        self.activation_lease_seconds = config.activation_lease_seconds;
        self.offline_ttl_seconds = config.offline_ttl_seconds;
        self.leases = config.activation_lease_seconds.map(|_| Leases::new());
        self
    }

    /// Instances that count against the limit at `now`.
    pub fn live_instances(&self, now: OffsetDateTime) -> i64 {
        live_count(self.instances_count, self.leases.as_ref(), now)
    }

    pub fn status(&self, now: OffsetDateTime) -> LicenseKeyStatus {
        license_key_status(self.disabled || self.grant_revoked, self.expires_at.as_deref(), now)
    }

    /// Dodo's LicenseKey as the admin routes show it: live instances only.
    pub fn view(&self, now: OffsetDateTime) -> LicenseKeyView {
        let mut key = self.clone();
        key.instances_count = self.live_instances(now);
        key.leases = None;
        key.shard_epoch = None;
        LicenseKeyView {
            key,
            status: self.status(now),
        }
    }

    fn inactive() -> Refusal {
        Refusal::inactive("INACTIVE_LICENSE_KEY", "this license key is disabled or expired")
    }

    /// One more activation at `now`, or why the key cannot take it. Expired
    /// instances are reclaimed oldest first, and only those reclaimed free a
    /// slot: the transaction guards each one's lease as read, so none of them
    /// can be renewed meanwhile, while one left in place might be.
    pub fn plan_activation(&self, now: OffsetDateTime) -> Result<Activation, Refusal> {
        if self.status(now) != LicenseKeyStatus::Active {
            return Err(Self::inactive());
        }
        let now_ms = unix_ms(now);
        let mut reclaim: Vec<(String, i64)> = self
            .leases
            .iter()
            .flatten()
            .filter(|(_, &until)| until <= now_ms)
            .map(|(id, &until)| (id.clone(), until))
            .collect();
        reclaim.sort_by_key(|(_, until)| *until);
        reclaim.truncate(RECLAIM_MAX);
        let counted = self.instances_count - reclaim.len() as i64;
        if self.activations_limit.is_some_and(|limit| counted >= limit) {
            return Err(Refusal::unprocessable(
                "LICENSE_KEY_LIMIT_REACHED",
                "this license key has no activations left",
            ));
        }
        Ok(Activation {
            lease_until_ms: self.lease_end(now),
            reclaim,
        })
    }

    /// Whether the key's activations may be split over `shards` (null: merged
    /// back). A leased key keeps one lease per instance on its own item, so
    /// its count cannot leave it.
    pub fn check_sharding(&self, shards: Option<i64>) -> Result<Option<u32>, Refusal> {
        let Some(shards) = shards else { return Ok(None) };
        if !ShardCount::contains(shards) {
            return Err(Refusal::invalid(
                "activation_shards",
                format!(
                    "must be from {} to {}, or null to keep the count on the key",
                    crate::shards::MIN_SHARDS,
                    crate::shards::MAX_SHARDS
                ),
            ));
        }
        if self.leases.is_some() {
            return Err(Refusal::invalid(
                "activation_shards",
                "a key with activation leases keeps its count on its own item",
            ));
        }
        Ok(Some(shards as u32))
    }

    /// Refused when `limit` is below the live instances, or leaves the key's
    /// leases unbounded: a leased key keeps one lease per instance on its item.
    pub fn check_limit(&self, limit: Option<i64>, now: OffsetDateTime) -> Result<(), Refusal> {
        let live = self.live_instances(now);
        // Only reclaimed instances free a slot, at most RECLAIM_MAX at a time.
        if limit.is_some_and(|limit| live > limit || self.instances_count - RECLAIM_MAX as i64 >= limit) {
            return Err(Refusal::unprocessable(
                "ACTIVATION_LIMIT_LESS_THAN_CURRENT_AMOUNT",
                format!("activations_limit is below the {live} live activations"),
            ));
        }
        if self.leases.is_some() && limit.is_none_or(|limit| limit > LEASED_LIMIT_MAX) {
            return Err(Refusal::invalid(
                "activations_limit",
                format!("a key with leases needs a limit from 1 to {LEASED_LIMIT_MAX}"),
            ));
        }
        Ok(())
    }

    /// When a lease taken or renewed at `now` ends (unix ms); `None` without leases.
    pub fn lease_end(&self, now: OffsetDateTime) -> Option<i64> {
        self.activation_lease_seconds.map(|s| unix_ms(now) + s * 1000)
    }

    /// Refused unless the key is active and `instance` is one of its live instances.
    pub fn usable_instance<'a>(
        &self,
        instance: Option<&'a Instance>,
        now: OffsetDateTime,
    ) -> Result<&'a Instance, Refusal> {
        if self.status(now) != LicenseKeyStatus::Active {
            return Err(Self::inactive());
        }
        let instance = instance.ok_or_else(instance_not_found)?;
        if !instance.is_live(now) {
            return Err(Refusal::gone(
                "INSTANCE_EXPIRED",
                "this instance's lease has ended; activate again",
            ));
        }
        Ok(instance)
    }

    /// The `code` of a validation: why the key (and instance) are or are not
    /// valid. `instance` is `None` when none was asked about, `Some(None)` when
    /// the one asked about is not this key's.
    /// One of `VALIDATION_CODES`.
    pub fn validation_code(&self, now: OffsetDateTime, instance: Option<Option<&Instance>>) -> &'static str {
        match (self.status(now), instance) {
            (LicenseKeyStatus::Disabled, _) => "DISABLED",
            (LicenseKeyStatus::Expired, _) => "EXPIRED",
            (LicenseKeyStatus::Active, Some(None)) => "INSTANCE_NOT_FOUND",
            (LicenseKeyStatus::Active, Some(Some(i))) if !i.is_live(now) => "INSTANCE_EXPIRED",
            (LicenseKeyStatus::Active, _) => "VALID",
        }
    }
}

/// `code` for a validate that asks for `required` features of a key that
/// unlocks `held`: one that would be `VALID` but lacks any is `FEATURES_MISSING`.
pub fn requiring_features(code: &'static str, held: &[String], required: &[impl AsRef<str>]) -> &'static str {
    let lacks = required
        .iter()
        .any(|want| !held.iter().any(|have| have == want.as_ref()));
    if code == "VALID" && lacks {
        "FEATURES_MISSING"
    } else {
        code
    }
}

/// Every code `validate` answers: `NOT_FOUND` for no such key, then `validation_code`'s.
pub const VALIDATION_CODES: [&str; 7] = [
    "VALID",
    "NOT_FOUND",
    "DISABLED",
    "EXPIRED",
    "INSTANCE_NOT_FOUND",
    "INSTANCE_EXPIRED",
    "FEATURES_MISSING",
];

pub fn instance_not_found() -> Refusal {
    Refusal::gone("LICENSE_KEY_INSTANCE_NOT_FOUND", "no such instance of this license key")
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

/// Dodo's LicenseKey: the stored key with its status (schema: `wire::dodo::license_key`).
#[derive(Serialize)]
pub struct LicenseKeyView {
    #[serde(flatten)]
    key: LicenseKey,
    status: LicenseKeyStatus,
}

/// One activation of a license key (Dodo's LicenseKeyInstance).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = LicenseKeyInstance)]
pub struct Instance {
    #[schema(examples("lki_01JD8Q3Z5XK9V6M2N4P7R8S0TW"))]
    pub id: String,
    pub business_id: String,
    pub license_key_id: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The device's stable id, when the activation named one.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// When the lease ends (instances of a leased key); null without a lease.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[serde(skip_serializing)]
    #[serde(default)]
    #[schema(ignore)]
    pub key_digest: String,
    /// What its webhook events are ordered under, when not its key's id (see
    /// `instance_event_subject`); stored with it, never shown.
    #[serde(skip_serializing)]
    #[serde(default)]
    #[schema(ignore)]
    pub event_subject: Option<String>,
}

/// The subject an instance of a sharded key reports its events under: one of
/// as many as the key has shards, by the instance's id. Its own events stay in
/// order while the key's outbox spreads over as many partitions as its count.
pub fn instance_event_subject(key_id: &str, instance_id: &str, shards: u32) -> String {
    let digest = crate::digest::sha256_hex(instance_id);
    let spread = u32::from_str_radix(&digest[..8], 16).unwrap_or_default();
    format!("{key_id}~{}", spread % shards.max(1))
}

impl Instance {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.expires_at
            .as_deref()
            .and_then(crate::timestamp::parse_rfc3339)
            .is_none_or(|end| end > now)
    }
}

pub const INSTANCE_NAME_MAX: usize = 255;
pub const FINGERPRINT_MAX: usize = 255;
/// A license key as the public routes and imports take it.
pub type KeyText = crate::json::Text<1, 255>;
pub type InstanceId = crate::json::Text<1, 64>;
pub type InstanceName = crate::json::Line<1, INSTANCE_NAME_MAX>;
pub type Fingerprint = crate::json::Text<1, FINGERPRINT_MAX>;

/// Keys are looked up by this digest, so the table's keys never hold a license key.
pub fn key_digest(key: &str) -> String {
    crate::digest::sha256_hex(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refusal::RefusalKind;
    use crate::timestamp::parse_rfc3339;

    fn key(limit: Option<i64>, count: i64, expires_at: Option<&str>) -> LicenseKey {
        let entitlement: crate::entitlement::Entitlement = serde_json::from_value(serde_json::json!({
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
    fn an_instance_reports_under_one_subject_of_as_many_as_its_key_has_shards() {
        let subjects: std::collections::HashSet<String> = (0..200)
            .map(|i| instance_event_subject("lk_1", &format!("lki_{i}"), 8))
            .collect();
        assert_eq!(subjects.len(), 8);
        assert!(subjects.iter().all(|s| s.starts_with("lk_1~")));
        assert_eq!(
            instance_event_subject("lk_1", "lki_7", 8),
            instance_event_subject("lk_1", "lki_7", 8)
        );
    }

    fn instance(expires_at: Option<&str>) -> Instance {
        Instance {
            id: "lki_1".into(),
            business_id: "bus_1".into(),
            license_key_id: "lk_1".into(),
            name: "laptop".into(),
            created_at: "t".into(),
            fingerprint: None,
            expires_at: expires_at.map(str::to_string),
            key_digest: String::new(),
            event_subject: None,
        }
    }

    /// A key with a 60 s lease and instances whose leases end at these times.
    fn leased(limit: Option<i64>, ends: &[(&str, &str)]) -> LicenseKey {
        let mut key = key(limit, ends.len() as i64, None);
        key.activation_lease_seconds = Some(60);
        key.leases = Some(
            ends.iter()
                .map(|(id, end)| (id.to_string(), unix_ms(parse_rfc3339(end).unwrap())))
                .collect(),
        );
        key
    }

    #[test]
    fn activation_needs_an_active_key_with_a_free_slot() {
        let now = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        let free = key(Some(2), 1, None).plan_activation(now).unwrap();
        assert_eq!(
            free,
            Activation {
                lease_until_ms: None,
                reclaim: vec![]
            }
        );
        assert!(key(None, 1000, None).plan_activation(now).is_ok());
        let full = key(Some(2), 2, None).plan_activation(now).unwrap_err();
        assert_eq!(
            (full.kind, full.code),
            (RefusalKind::Unprocessable, "LICENSE_KEY_LIMIT_REACHED")
        );
        let expired = key(Some(2), 0, Some("2026-05-31T23:59:59Z"))
            .plan_activation(now)
            .unwrap_err();
        assert_eq!(
            (expired.kind, expired.code),
            (RefusalKind::Inactive, "INACTIVE_LICENSE_KEY")
        );
        let mut revoked = key(Some(2), 0, None);
        revoked.grant_revoked = true;
        assert_eq!(revoked.plan_activation(now).unwrap_err().code, "INACTIVE_LICENSE_KEY");
    }

    #[test]
    fn an_ended_lease_frees_its_slot_and_is_reclaimed_oldest_first() {
        let now = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        let all_live = leased(Some(2), &[("a", "2026-06-01T00:00:30Z"), ("b", "2026-06-01T00:00:10Z")]);
        assert_eq!(all_live.live_instances(now), 2);
        assert_eq!(
            all_live.plan_activation(now).unwrap_err().code,
            "LICENSE_KEY_LIMIT_REACHED"
        );
        let one_ended = leased(
            Some(2),
            &[
                ("a", "2026-06-01T00:00:30Z"),
                ("b", "2026-06-01T00:00:00Z"),
                ("c", "2026-05-31T23:00:00Z"),
            ],
        );
        assert_eq!(one_ended.live_instances(now), 1);
        assert_eq!(one_ended.view(now).key.instances_count, 1);
        let plan = one_ended.plan_activation(now).unwrap();
        assert_eq!(
            plan.reclaim,
            vec![
                ("c".to_string(), unix_ms(parse_rfc3339("2026-05-31T23:00:00Z").unwrap())),
                ("b".to_string(), unix_ms(now)),
            ]
        );
        assert_eq!(plan.lease_until_ms, Some(unix_ms(now) + 60_000));
        let many: Vec<(String, String)> = (0..30)
            .map(|i| (format!("i{i:02}"), format!("2026-05-31T23:{i:02}:00Z")))
            .collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let plan = leased(None, &many).plan_activation(now).unwrap();
        assert_eq!(plan.reclaim.len(), RECLAIM_MAX);
        assert_eq!(plan.reclaim[0].0, "i00");
    }

    #[test]
    fn only_reclaimed_instances_free_a_slot_and_limits_keep_that_possible() {
        let now = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        let ended: Vec<(String, String)> = (0..25)
            .map(|i| (format!("i{i:02}"), format!("2026-05-31T23:{i:02}:00Z")))
            .collect();
        let ended: Vec<(&str, &str)> = ended.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        // 25 ended leases, 20 reclaimed at once: 5 still counted, so a limit of 5 is full.
        let mut key = leased(Some(5), &ended);
        assert_eq!(key.live_instances(now), 0);
        assert_eq!(key.plan_activation(now).unwrap_err().code, "LICENSE_KEY_LIMIT_REACHED");
        key.activations_limit = Some(6);
        assert_eq!(key.plan_activation(now).unwrap().reclaim.len(), RECLAIM_MAX);
        // Hence no limit may fall below what one activation can make room under.
        assert_eq!(
            key.check_limit(Some(5), now).unwrap_err().code,
            "ACTIVATION_LIMIT_LESS_THAN_CURRENT_AMOUNT"
        );
        assert!(key.check_limit(Some(6), now).is_ok());
        let busy = leased(Some(3), &[("a", "2026-06-01T00:01:00Z"), ("b", "2026-06-01T00:01:00Z")]);
        assert_eq!(
            busy.check_limit(Some(1), now).unwrap_err().code,
            "ACTIVATION_LIMIT_LESS_THAN_CURRENT_AMOUNT"
        );
        // A leased key keeps a lease per instance: its limit is bounded.
        assert_eq!(busy.check_limit(None, now).unwrap_err().code, "VALIDATION_ERROR");
        assert_eq!(
            busy.check_limit(Some(LEASED_LIMIT_MAX + 1), now).unwrap_err().code,
            "VALIDATION_ERROR"
        );
        assert!(busy.check_limit(Some(LEASED_LIMIT_MAX), now).is_ok());
        assert!(self::key(Some(3), 0, None).check_limit(None, now).is_ok());
    }

    #[test]
    fn a_heartbeat_needs_an_active_key_and_a_live_instance_of_it() {
        let now = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        let key = leased(Some(2), &[("lki_1", "2026-06-01T00:00:30Z")]);
        let live = instance(Some("2026-06-01T00:00:30.000Z"));
        assert_eq!(key.usable_instance(Some(&live), now).unwrap().id, "lki_1");
        assert_eq!(key.lease_end(now), Some(unix_ms(now) + 60_000));
        let ended = instance(Some("2026-06-01T00:00:00.000Z"));
        assert_eq!(
            key.usable_instance(Some(&ended), now).unwrap_err().code,
            "INSTANCE_EXPIRED"
        );
        let missing = key.usable_instance(None, now).unwrap_err();
        assert_eq!(
            (missing.kind, missing.code),
            (RefusalKind::Gone, "LICENSE_KEY_INSTANCE_NOT_FOUND")
        );
        let mut disabled = key.clone();
        disabled.disabled = true;
        assert_eq!(
            disabled.usable_instance(Some(&live), now).unwrap_err().code,
            "INACTIVE_LICENSE_KEY"
        );
        assert_eq!(self::key(None, 0, None).lease_end(now), None);
    }

    #[test]
    fn validation_codes_in_order_disabled_expired_instance() {
        let now = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        let live = key(Some(2), 1, Some("2027-01-01T00:00:00Z"));
        let (held, ended) = (instance(None), instance(Some("2026-05-31T23:59:59.000Z")));
        assert_eq!(live.validation_code(now, None), "VALID");
        assert_eq!(live.validation_code(now, Some(Some(&held))), "VALID");
        assert_eq!(live.validation_code(now, Some(None)), "INSTANCE_NOT_FOUND");
        assert_eq!(live.validation_code(now, Some(Some(&ended))), "INSTANCE_EXPIRED");
        let expired = key(Some(2), 1, Some("2026-01-01T00:00:00Z"));
        assert_eq!(expired.validation_code(now, Some(None)), "EXPIRED");
        let mut disabled = expired.clone();
        disabled.disabled = true;
        assert_eq!(disabled.validation_code(now, Some(Some(&held))), "DISABLED");
    }

    #[test]
    fn a_valid_key_lacking_a_required_feature_is_features_missing() {
        let held = vec!["export".to_string(), "sync".to_string()];
        assert_eq!(requiring_features("VALID", &held, &["sync"]), "VALID");
        assert_eq!(requiring_features("VALID", &held, &[] as &[&str]), "VALID");
        assert_eq!(
            requiring_features("VALID", &held, &["sync", "teams"]),
            "FEATURES_MISSING"
        );
        assert_eq!(requiring_features("VALID", &[], &["sync"]), "FEATURES_MISSING");
        // A key that is not valid anyway says why, not what it lacks.
        assert_eq!(requiring_features("EXPIRED", &held, &["teams"]), "EXPIRED");
        assert_eq!(
            requiring_features("INSTANCE_NOT_FOUND", &[], &["sync"]),
            "INSTANCE_NOT_FOUND"
        );
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

    #[test]
    fn status_is_derived_disabled_then_expired() {
        let now = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        assert_eq!(
            license_key_status(true, Some("2030-01-01T00:00:00Z"), now),
            LicenseKeyStatus::Disabled
        );
        assert_eq!(
            license_key_status(false, Some("2026-06-01T00:00:00Z"), now),
            LicenseKeyStatus::Expired
        );
        assert_eq!(
            license_key_status(false, Some("2026-06-02T00:00:00Z"), now),
            LicenseKeyStatus::Active
        );
        assert_eq!(license_key_status(false, None, now), LicenseKeyStatus::Active);
    }
}
