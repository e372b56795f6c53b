//! Grants: one customer's right to an entitlement, and its lifecycle
//! Pending → Delivered → (Failed | Revoked).

use crate::domain::entitlement::{DurationInterval, Entitlement, FulfillmentMode, IntegrationType, Metadata};
use crate::domain::license_key::{license_key_status, KeySource, LicenseKey, LicenseKeyStatus};
use crate::domain::refusal::{Refusal, RuleResult};
use crate::json::{Bounded, Text};
use serde::{Deserialize, Serialize};
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
        [Self::Pending, Self::Delivered, Self::Failed, Self::Revoked]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
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
    pub leases: Option<crate::domain::license_key::Leases>,
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
    #[schema(schema_with = crate::wire::schema::metadata_shown)]
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
    /// Never set by this service.
    #[schema(required = true, value_type = Option<Object>)]
    pub digital_product_delivery: Option<serde_json::Value>,
    /// Never set by this service.
    #[schema(required = true, value_type = Option<Object>)]
    pub feature: Option<serde_json::Value>,
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
}

/// The grant's status as `customers.list_entitlements` shows it, in lower case.
/// The SDK's enum also has `revoked`, but this list is what the customer holds
/// now (Dodo: "delivered to, or still in flight for, a customer"), so a revoked
/// grant is left out; `customers.list_entitlement_grants` shows it.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HeldStatus {
    Pending,
    Delivered,
    Failed,
}

/// One grant a customer holds, with its entitlement's name and description.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerEntitlement {
    pub grant_id: String,
    pub entitlement_id: String,
    pub entitlement_name: String,
    #[schema(required = true)]
    pub entitlement_description: Option<String>,
    pub integration_type: IntegrationType,
    #[schema(inline)]
    pub status: HeldStatus,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(required = true, format = DateTime)]
    pub delivered_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub revoked_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerEntitlements {
    #[schema(max_items = 1000)]
    pub items: Vec<CustomerEntitlement>,
}

/// A customer's grants as the Dodo SDK's `customers.list_entitlements` shows
/// them: what the customer holds now (revoked grants left out), newest first.
pub fn customer_entitlements(grants: &[Grant], entitlements: &[Entitlement]) -> CustomerEntitlements {
    let mut held: Vec<&Grant> = grants.iter().filter(|g| g.status != GrantStatus::Revoked).collect();
    held.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
    let items = held
        .into_iter()
        .filter_map(|grant| {
            let status = match grant.status {
                GrantStatus::Pending => HeldStatus::Pending,
                GrantStatus::Delivered => HeldStatus::Delivered,
                GrantStatus::Failed => HeldStatus::Failed,
                GrantStatus::Revoked => return None,
            };
            let entitlement = entitlements.iter().find(|e| e.id == grant.entitlement_id);
            Some(CustomerEntitlement {
                grant_id: grant.id.clone(),
                entitlement_id: grant.entitlement_id.clone(),
                entitlement_name: entitlement.map(|e| e.name.clone()).unwrap_or_default(),
                entitlement_description: entitlement.and_then(|e| e.description.clone()),
                integration_type: grant.integration_type,
                status,
                created_at: grant.created_at.clone(),
                updated_at: grant.updated_at.clone(),
                delivered_at: grant.delivered_at.clone(),
                revoked_at: grant.revoked_at.clone(),
            })
        })
        .collect();
    CustomerEntitlements { items }
}

impl Grant {
    /// The grant as shown at `now`: a key whose expiry has passed reads as expired
    /// without any write having happened.
    pub fn presented(mut self, now: OffsetDateTime) -> Self {
        if let Some(key) = self.license_key.as_mut() {
            if key.status == LicenseKeyStatus::Active {
                key.status = license_key_status(false, key.expires_at.as_deref(), now);
            }
            key.activations_used =
                crate::domain::license_key::live_count(key.activations_used, key.leases.as_ref(), now);
            key.leases = None;
            key.activation_shards = None;
        }
        self.rev = None;
        self
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
            .and_then(crate::clock::parse_rfc3339);
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
        Ok(Resend::Queue(Box::new(self.requeued(&crate::clock::rfc3339(now)))))
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

/// A customer, payment or subscription id.
pub type Id = Text<1, 255>;
type CustomerName = crate::json::Line<0, 255>;
type Email = Text<3, 254>;

/// What `looks_like_email` accepts.
pub const EMAIL_PATTERN: &str = r"^[^@\s\x00-\x1f\x7f-\x9f<>,]+@[^.@\s\x00-\x1f\x7f-\x9f<>,][^@\s\x00-\x1f\x7f-\x9f<>,]*\.[^@\s\x00-\x1f\x7f-\x9f<>,]*[^.@\s\x00-\x1f\x7f-\x9f<>,]$";

/// One grant exists per entitlement, customer and `payment_id` (else
/// `subscription_id`, else none): issuing it again answers the existing grant with 200.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewGrant {
    #[schema(inline, value_type = Id)]
    pub customer_id: String,
    #[schema(schema_with = crate::wire::schema::email)]
    pub customer_email: String,
    #[serde(default)]
    #[schema(inline, value_type = Option<CustomerName>)]
    pub customer_name: Option<String>,
    #[serde(default)]
    #[schema(inline, value_type = Option<Id>)]
    pub payment_id: Option<String>,
    #[serde(default)]
    #[schema(inline, value_type = Option<Id>)]
    pub subscription_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<crate::wire::schema::MetadataInput>)]
    pub metadata: Option<Metadata>,
}

impl NewGrant {
    pub fn validate(&self) -> RuleResult<()> {
        Id::check("customer_id", &self.customer_id)?;
        Email::check("customer_email", &self.customer_email)?;
        if !looks_like_email(&self.customer_email) {
            return Err(Refusal::invalid("customer_email", "is not an email address"));
        }
        if let Some(name) = &self.customer_name {
            CustomerName::check("customer_name", name)?;
        }
        if let Some(id) = &self.payment_id {
            Id::check("payment_id", id)?;
        }
        if let Some(id) = &self.subscription_id {
            Id::check("subscription_id", id)?;
        }
        if let Some(metadata) = &self.metadata {
            crate::domain::entitlement::validate_metadata(metadata)?;
        }
        Ok(())
    }

    /// What makes a grant unique for its entitlement and customer: the payment or
    /// subscription that caused it; without either, one grant per customer.
    pub fn uniqueness_key(&self) -> String {
        match (&self.payment_id, &self.subscription_id) {
            (Some(payment), _) => format!("pay:{payment}"),
            (None, Some(subscription)) => format!("sub:{subscription}"),
            (None, None) => "none".to_string(),
        }
    }

    /// The Pending grant this request makes of `entitlement` at `now`.
    pub fn to_grant(&self, id: String, entitlement: &Entitlement, now: &str) -> Grant {
        Grant {
            id,
            business_id: entitlement.business_id.clone(),
            brand_id: entitlement.business_id.clone(),
            customer_id: self.customer_id.clone(),
            customer_email: self.customer_email.clone(),
            customer_name: self.customer_name.clone(),
            entitlement_id: entitlement.id.clone(),
            integration_type: entitlement.integration_type,
            status: GrantStatus::Pending,
            metadata: self.metadata.clone().unwrap_or_default(),
            created_at: now.to_string(),
            updated_at: now.to_string(),
            delivered_at: None,
            revoked_at: None,
            revocation_reason: None,
            error_code: None,
            error_message: None,
            payment_id: self.payment_id.clone(),
            subscription_id: self.subscription_id.clone(),
            license_key: None,
            email_delivery: None,
            digital_product_delivery: None,
            feature: None,
            oauth_url: None,
            oauth_expires_at: None,
            rev: None,
        }
    }
}

fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
        && !domain.contains('@')
}

pub type SuppliedKey = Text<1, 255>;
/// What `check_key` accepts besides the length.
pub const KEY_PATTERN: &str = r"^[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$";
/// An activation limit that is given.
pub type Limit = Bounded<1, { i64::MAX }>;

/// The body of `POST /grants/{grant_id}/license-key`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Fulfilment {
    /// Printable characters without surrounding white space; unique across all businesses.
    #[schema(schema_with = crate::wire::schema::supplied_key)]
    pub key: String,
    /// Left out or null: the entitlement's.
    #[serde(default)]
    #[schema(inline, value_type = Option<Limit>)]
    pub activations_limit: Option<i64>,
    /// RFC 3339; a timestamp without an offset (`2027-01-01T00:00:00`) is also
    /// taken, as UTC. Must be in the future. Left out or null: now plus the
    /// entitlement's duration, if it has one.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

type RevocationReason = Text<1, 500>;

/// The body of a revocation, which may be left out.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Revocation {
    /// Left out or null: `manual`.
    #[serde(default)]
    #[schema(inline, value_type = Option<RevocationReason>)]
    pub reason: Option<String>,
}

impl Revocation {
    pub fn reason(self) -> RuleResult<String> {
        let reason = self.reason.unwrap_or_else(|| "manual".to_string());
        RevocationReason::check("reason", &reason)?;
        Ok(reason)
    }
}

impl Fulfilment {
    /// Checks the key itself; done before anything is read.
    pub fn check_key(&self) -> RuleResult<()> {
        SuppliedKey::check("key", &self.key)?;
        if self.key.chars().any(|c| c.is_control()) || self.key.trim() != self.key {
            return Err(Refusal::invalid(
                "key",
                "must be printable characters without surrounding spaces",
            ));
        }
        Ok(())
    }

    /// A supplied key must be as hard to guess as a password worth the name: the
    /// public routes answer whether a key exists, so a short one is an oracle.
    /// Checked after the request's other fields, as the contract orders them.
    pub fn check_strength(&self) -> RuleResult<()> {
        check_key_strength(&self.key)
    }

    /// The limit and expiry the key gets: given ones checked, else the entitlement's.
    pub fn resolve(&self, entitlement: &Entitlement, now: OffsetDateTime) -> RuleResult<(Option<i64>, Option<String>)> {
        let config = entitlement.license_key_config().unwrap_or_default();
        let limit = match self.activations_limit {
            Some(limit) if !Limit::contains(limit) => {
                return Err(Refusal::invalid("activations_limit", "must be at least 1"))
            }
            Some(limit) => Some(limit),
            None => config.activations_limit,
        };
        let expires_at = match &self.expires_at {
            Some(text) => {
                let at = parse_client_time(text)
                    .ok_or_else(|| Refusal::invalid("expires_at", "must be an RFC 3339 timestamp"))?;
                if at <= now {
                    return Err(Refusal::invalid("expires_at", "must be in the future"));
                }
                Some(crate::clock::rfc3339(at))
            }
            None => expiry_after(now, config.duration_count, config.duration_interval).map(crate::clock::rfc3339),
        };
        Ok((limit, expires_at))
    }
}

/// RFC 3339, or a timestamp without an offset (the Dodo SDK sends naive datetimes so), taken as UTC.
pub fn parse_client_time(text: &str) -> Option<OffsetDateTime> {
    let at = crate::clock::parse_rfc3339(text).or_else(|| {
        let format = time::macros::format_description!(
            version = 2,
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        time::PrimitiveDateTime::parse(text, &format)
            .ok()
            .map(|at| at.assume_utc())
    })?;
    // Stored times compare as text, which holds for four-digit years, 0000 to
    // 9999: RFC 3339's own range, before 1970 too.
    (0..=9999).contains(&at.year()).then_some(at)
}

/// Now plus the entitlement's duration; months and years keep the day of month where it exists.
pub fn expiry_after(
    now: OffsetDateTime,
    count: Option<i64>,
    interval: Option<DurationInterval>,
) -> Option<OffsetDateTime> {
    let (count, interval) = (count?, interval?);
    match interval {
        // Checked before the Duration is built: its constructors panic on overflow.
        DurationInterval::Day => now.checked_add(time::Duration::seconds(count.checked_mul(86_400)?)),
        DurationInterval::Week => now.checked_add(time::Duration::seconds(count.checked_mul(604_800)?)),
        DurationInterval::Month => add_months(now, count),
        DurationInterval::Year => add_months(now, count.checked_mul(12)?),
    }
}

fn add_months(at: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let total = (at.year() as i64 * 12 + (at.month() as i64 - 1)).checked_add(months)?;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = time::Month::try_from((total.rem_euclid(12) + 1) as u8).ok()?;
    let day = at.day().min(month.length(year));
    at.replace_date(time::Date::from_calendar_date(year, month, day).ok()?)
        .into()
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

pub const KEY_MIN_LEN: usize = 16;
pub const KEY_MIN_DISTINCT: usize = 8;

/// At least `KEY_MIN_LEN` characters, `KEY_MIN_DISTINCT` of them different.
pub fn check_key_strength(key: &str) -> RuleResult<()> {
    let distinct: std::collections::BTreeSet<char> = key.chars().collect();
    if key.chars().count() < KEY_MIN_LEN || distinct.len() < KEY_MIN_DISTINCT {
        return Err(Refusal::invalid(
            "key",
            format!("must be at least {KEY_MIN_LEN} characters, {KEY_MIN_DISTINCT} of them different, so it cannot be guessed"),
        ));
    }
    Ok(())
}

/// A generated key: 160 random bits as five groups of Crockford base32, e.g. `7KQ2M-...`.
pub fn format_license_key(bytes: [u8; 20]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bits: u64 = 0;
    let mut held = 0;
    let mut chars = String::with_capacity(39);
    for byte in bytes {
        bits = (bits << 8) | byte as u64;
        held += 8;
        while held >= 5 {
            held -= 5;
            chars.push(ALPHABET[((bits >> held) & 0x1F) as usize] as char);
        }
    }
    chars
        .as_bytes()
        .chunks(8)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-")
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

/// What one attempt at sending the key email came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailAttempt {
    Sent {
        message_id: String,
    },
    /// Worth trying again later (throttling, SES out of reach).
    Transient(String),
    /// SES refused this message for good.
    Permanent(String),
}

/// Delays before the next attempt after the `attempts`-th failed one; None when retries are used up.
pub fn email_retry_delay(attempts: u32) -> Option<time::Duration> {
    const MINUTES: [i64; 7] = [1, 5, 30, 120, 300, 600, 600];
    if attempts >= MAX_EMAIL_ATTEMPTS {
        return None;
    }
    let index = (attempts.max(1) - 1) as usize;
    Some(time::Duration::minutes(MINUTES[index.min(MINUTES.len() - 1)]))
}

pub const MAX_EMAIL_ATTEMPTS: u32 = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_rfc3339;
    use crate::domain::refusal::RefusalKind;
    use serde_json::json;

    fn entitlement(config: serde_json::Value) -> Entitlement {
        let new: crate::domain::entitlement::NewEntitlement = serde_json::from_value(
            json!({"name": "Pro", "integration_type": "license_key", "integration_config": config}),
        )
        .unwrap();
        new.into_entitlement("ent_1".into(), "bus_1", "t").unwrap()
    }

    fn pending_grant(entitlement: &Entitlement) -> Grant {
        let new: NewGrant = serde_json::from_value(json!({"customer_id": "c", "customer_email": "a@b.co"})).unwrap();
        new.to_grant("entg_1".into(), entitlement, "t")
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
    fn fulfilment_defaults_come_from_the_entitlement() {
        let now = parse_rfc3339("2026-01-31T10:00:00Z").unwrap();
        let ent = entitlement(json!({"activations_limit": 3, "duration_count": 1, "duration_interval": "Month"}));
        let body = Fulfilment {
            key: "K".into(),
            activations_limit: None,
            expires_at: None,
        };
        assert_eq!(
            body.resolve(&ent, now).unwrap(),
            (Some(3), Some("2026-02-28T10:00:00.000Z".into()))
        );

        let body = Fulfilment {
            key: "K".into(),
            activations_limit: Some(9),
            expires_at: Some("2027-01-01T00:00:00".into()),
        };
        assert_eq!(
            body.resolve(&ent, now).unwrap(),
            (Some(9), Some("2027-01-01T00:00:00.000Z".into()))
        );

        let never = entitlement(json!({}));
        let body = Fulfilment {
            key: "K".into(),
            activations_limit: None,
            expires_at: None,
        };
        assert_eq!(body.resolve(&never, now).unwrap(), (None, None));
    }

    #[test]
    fn client_times_take_every_four_digit_year() {
        let at = |text| parse_client_time(text).map(crate::clock::rfc3339);
        assert_eq!(at("1969-12-31T23:59:59Z").as_deref(), Some("1969-12-31T23:59:59.000Z"));
        assert_eq!(at("0001-01-01T00:00:00").as_deref(), Some("0001-01-01T00:00:00.000Z"));
        assert_eq!(at("9999-12-31T23:59:59Z").as_deref(), Some("9999-12-31T23:59:59.000Z"));
        assert!(at("0999-06-01T00:00:00Z") < at("1969-12-31T23:59:59Z"));
        assert_eq!(at("-0001-01-01T00:00:00"), None);
    }

    #[test]
    fn fulfilment_rejects_past_expiry_and_bad_limits() {
        let now = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let ent = entitlement(json!({}));
        let past = Fulfilment {
            key: "K".into(),
            activations_limit: None,
            expires_at: Some("2025-12-31T23:59:59Z".into()),
        };
        assert!(past.resolve(&ent, now).unwrap_err().message.starts_with("expires_at"));
        // A time before 1970 is RFC 3339 like any other: refused for being past, not for its form.
        let before_epoch = Fulfilment {
            key: "K".into(),
            activations_limit: None,
            expires_at: Some("1969-12-31T23:59:59Z".into()),
        };
        assert_eq!(
            before_epoch.resolve(&ent, now).unwrap_err().message,
            "expires_at: must be in the future"
        );
        for odd in ["soon", "-0001-01-01T00:00:00", "+10000-01-01T00:00:00Z"] {
            let body = Fulfilment {
                key: "K".into(),
                activations_limit: None,
                expires_at: Some(odd.into()),
            };
            assert!(body.resolve(&ent, now).is_err(), "{odd}");
        }
        let junk = Fulfilment {
            key: "K".into(),
            activations_limit: None,
            expires_at: Some("soon".into()),
        };
        assert!(junk.resolve(&ent, now).unwrap_err().message.starts_with("expires_at"));
        let zero = Fulfilment {
            key: "K".into(),
            activations_limit: Some(0),
            expires_at: None,
        };
        assert!(zero
            .resolve(&ent, now)
            .unwrap_err()
            .message
            .starts_with("activations_limit"));
    }

    #[test]
    fn keys_must_be_printable() {
        let key = |k: &str| {
            Fulfilment {
                key: k.into(),
                activations_limit: None,
                expires_at: None,
            }
            .check_key()
        };
        assert!(key("ABC-123").is_ok());
        assert!(key("").is_err());
        assert!(key(&"x".repeat(256)).is_err());
        assert!(key("a\nb").is_err());
        assert!(key(" padded").is_err());
    }

    #[test]
    fn generated_keys_are_grouped_and_distinct() {
        let key = format_license_key(crate::ids::random_bytes());
        assert_eq!(key.len(), 32 + 3);
        assert_eq!(key.split('-').count(), 4);
        assert_ne!(key, format_license_key(crate::ids::random_bytes()));
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

    #[test]
    fn email_backoff_then_give_up() {
        let minutes: Vec<_> = (1..MAX_EMAIL_ATTEMPTS)
            .map(|n| email_retry_delay(n).unwrap().whole_minutes())
            .collect();
        assert_eq!(minutes, [1, 5, 30, 120, 300, 600, 600]);
        assert_eq!(email_retry_delay(MAX_EMAIL_ATTEMPTS), None);
    }

    #[test]
    fn status_filter_is_case_insensitive() {
        assert_eq!(GrantStatus::parse("delivered"), Some(GrantStatus::Delivered));
        assert_eq!(GrantStatus::parse("REVOKED"), Some(GrantStatus::Revoked));
        assert_eq!(GrantStatus::parse("gone"), None);
    }

    #[test]
    fn grant_requests_are_checked() {
        let parse = |v: serde_json::Value| serde_json::from_value::<NewGrant>(v).unwrap().validate();
        assert!(parse(json!({"customer_id": "c", "customer_email": "a@b.co"})).is_ok());
        let err = parse(json!({"customer_id": "c", "customer_email": "not-an-email"})).unwrap_err();
        assert!(err.message.starts_with("customer_email"));
        let err = parse(json!({"customer_id": "", "customer_email": "a@b.co"})).unwrap_err();
        assert!(err.message.starts_with("customer_id"));
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

    #[test]
    fn an_expiry_past_what_a_date_holds_is_none_not_a_panic() {
        let now = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        for interval in [
            DurationInterval::Day,
            DurationInterval::Week,
            DurationInterval::Month,
            DurationInterval::Year,
        ] {
            assert_eq!(expiry_after(now, Some(i64::MAX), Some(interval)), None);
            assert_eq!(expiry_after(now, Some(200_000_000_000_000), Some(interval)), None);
            assert!(expiry_after(now, Some(interval.max_count()), Some(interval)).is_some());
        }
    }

    #[test]
    fn supplied_keys_must_be_hard_to_guess() {
        assert!(check_key_strength("K").is_err());
        assert!(check_key_strength("AAAAAAAAAAAAAAAAAAAAAAAA").is_err());
        assert!(check_key_strength("ACME-PRO-0001").is_err());
        assert!(check_key_strength("ACME-PRO-0001-XYZ").is_ok());
        assert!(check_key_strength(&format_license_key(crate::ids::random_bytes())).is_ok());
        assert_eq!(
            check_key_strength("short").unwrap_err().message.split(':').next(),
            Some("key")
        );
    }
}
