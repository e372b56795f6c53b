//! The bodies of the grant requests (issue, fulfil, revoke) and their checks.

use crate::calendar::{expiry_after, parse_client_time};
use crate::entitlement::{Entitlement, IntegrationType, MetadataInput};
use crate::grant::{Grant, GrantStatus};
use crate::json::{Bounded, Text};
use crate::key_generation::check_key_strength;
use crate::refusal::{Refusal, RuleResult};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A customer, payment or subscription id.
pub type Id = Text<1, 255>;
pub type CustomerName = crate::json::Line<0, 255>;
pub type Email = Text<3, 254>;

/// What `looks_like_email` accepts.
pub const EMAIL_PATTERN: &str = r"^[^@\s\x00-\x1f\x7f-\x9f<>,]+@[^.@\s\x00-\x1f\x7f-\x9f<>,][^@\s\x00-\x1f\x7f-\x9f<>,]*\.[^@\s\x00-\x1f\x7f-\x9f<>,]*[^.@\s\x00-\x1f\x7f-\x9f<>,]$";

/// One grant exists per entitlement, customer and `payment_id` (else
/// `subscription_id`, else none): issuing it again answers the existing grant with 200.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewGrant {
    #[schema(inline)]
    pub customer_id: Id,
    #[schema(schema_with = email)]
    pub customer_email: Email,
    #[serde(default)]
    #[schema(inline)]
    pub customer_name: Option<CustomerName>,
    #[serde(default)]
    #[schema(inline)]
    pub payment_id: Option<Id>,
    #[serde(default)]
    #[schema(inline)]
    pub subscription_id: Option<Id>,
    #[serde(default)]
    pub metadata: Option<MetadataInput>,
}

impl NewGrant {
    pub fn validate(&self) -> RuleResult<()> {
        if !looks_like_email(&self.customer_email) {
            return Err(Refusal::invalid("customer_email", "is not an email address"));
        }
        Ok(())
    }

    /// What makes a grant unique for its entitlement and customer: the payment or
    /// subscription that caused it; without either, one grant per customer. A
    /// customer holds one grant of a feature flag, whatever confers it.
    pub fn uniqueness_key(&self, integration_type: IntegrationType) -> String {
        match integration_type {
            IntegrationType::FeatureFlag => "feature".to_string(),
            _ => self.cause(),
        }
    }

    /// What this request's grant comes from (`cause`).
    pub fn cause(&self) -> String {
        cause(self.payment_id.as_deref(), self.subscription_id.as_deref())
    }

    /// The grant this request makes of `entitlement` at `now`: Pending, but a
    /// feature flag is Delivered at once with its feature.
    pub fn to_grant(&self, id: String, entitlement: &Entitlement, now: &str) -> Grant {
        let feature = entitlement.feature();
        let at_once = entitlement.delivered_at_once();
        Grant {
            id,
            business_id: entitlement.business_id.clone(),
            brand_id: entitlement.business_id.clone(),
            customer_id: self.customer_id.to_string(),
            customer_email: self.customer_email.to_string(),
            customer_name: self.customer_name.as_deref().map(str::to_string),
            entitlement_id: entitlement.id.clone(),
            integration_type: entitlement.integration_type,
            status: if at_once {
                GrantStatus::Delivered
            } else {
                GrantStatus::Pending
            },
            metadata: self.metadata.clone().map(MetadataInput::into_inner).unwrap_or_default(),
            created_at: now.to_string(),
            updated_at: now.to_string(),
            delivered_at: at_once.then(|| now.to_string()),
            revoked_at: None,
            revocation_reason: None,
            error_code: None,
            error_message: None,
            payment_id: self.payment_id.as_deref().map(str::to_string),
            subscription_id: self.subscription_id.as_deref().map(str::to_string),
            license_key: None,
            email_delivery: None,
            digital_product_delivery: None,
            conferred_by: feature.is_some().then(|| [self.cause()].into()),
            feature,
            oauth_url: None,
            oauth_expires_at: None,
            rev: None,
            revoked_by_provider: None,
        }
    }
}

/// What a grant comes from, as its feature flag's conferring set names it:
/// a payment, else a subscription, else `none` (the API alone).
pub fn cause(payment_id: Option<&str>, subscription_id: Option<&str>) -> String {
    match (payment_id, subscription_id) {
        (Some(payment), _) => format!("pay:{payment}"),
        (None, Some(subscription)) => format!("sub:{subscription}"),
        (None, None) => "none".to_string(),
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
    #[schema(schema_with = supplied_key)]
    pub key: SuppliedKey,
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

pub type RevocationReason = Text<1, 500>;

/// The body of a revocation, which may be left out.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Revocation {
    /// Left out or null: `manual`.
    #[serde(default)]
    #[schema(inline)]
    pub reason: Option<RevocationReason>,
}

impl Revocation {
    pub fn reason(self) -> RuleResult<String> {
        Ok(self
            .reason
            .map_or_else(|| "manual".to_string(), RevocationReason::into_inner))
    }
}

impl Fulfilment {
    /// Checks the key itself; done before anything is read.
    pub fn check_key(&self) -> RuleResult<()> {
        if self.key.chars().any(|c| c.is_control()) || self.key.trim() != self.key.as_str() {
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
                Some(crate::timestamp::rfc3339(at))
            }
            None => expiry_after(now, config.duration_count, config.duration_interval).map(crate::timestamp::rfc3339),
        };
        Ok((limit, expires_at))
    }
}

/// A customer's email as `NewGrant::validate` takes it.
pub fn email() -> utoipa::openapi::schema::ObjectBuilder {
    crate::schema::string(EMAIL_PATTERN)
        .min_length(Some(3))
        .max_length(Some(254))
}

/// A supplied license key as `Fulfilment::check_key` takes it.
pub fn supplied_key() -> utoipa::openapi::schema::ObjectBuilder {
    utoipa::openapi::schema::ObjectBuilder::from(crate::schema::object_of::<SuppliedKey>()).pattern(Some(KEY_PATTERN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::parse_rfc3339;
    use serde_json::json;

    use crate::entitlement::license_key_entitlement as entitlement;

    #[test]
    fn fulfilment_defaults_come_from_the_entitlement() {
        let now = parse_rfc3339("2026-01-31T10:00:00Z").unwrap();
        let ent = entitlement(json!({"activations_limit": 3, "duration_count": 1, "duration_interval": "Month"}));
        let body = Fulfilment {
            key: SuppliedKey::new("key", "K").unwrap(),
            activations_limit: None,
            expires_at: None,
        };
        assert_eq!(
            body.resolve(&ent, now).unwrap(),
            (Some(3), Some("2026-02-28T10:00:00.000Z".into()))
        );

        let body = Fulfilment {
            key: SuppliedKey::new("key", "K").unwrap(),
            activations_limit: Some(9),
            expires_at: Some("2027-01-01T00:00:00".into()),
        };
        assert_eq!(
            body.resolve(&ent, now).unwrap(),
            (Some(9), Some("2027-01-01T00:00:00.000Z".into()))
        );

        let never = entitlement(json!({}));
        let body = Fulfilment {
            key: SuppliedKey::new("key", "K").unwrap(),
            activations_limit: None,
            expires_at: None,
        };
        assert_eq!(body.resolve(&never, now).unwrap(), (None, None));
    }

    #[test]
    fn fulfilment_rejects_past_expiry_and_bad_limits() {
        let now = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let ent = entitlement(json!({}));
        let past = Fulfilment {
            key: SuppliedKey::new("key", "K").unwrap(),
            activations_limit: None,
            expires_at: Some("2025-12-31T23:59:59Z".into()),
        };
        assert!(past.resolve(&ent, now).unwrap_err().message.starts_with("expires_at"));
        // A time before 1970 is RFC 3339 like any other: refused for being past, not for its form.
        let before_epoch = Fulfilment {
            key: SuppliedKey::new("key", "K").unwrap(),
            activations_limit: None,
            expires_at: Some("1969-12-31T23:59:59Z".into()),
        };
        assert_eq!(
            before_epoch.resolve(&ent, now).unwrap_err().message,
            "expires_at: must be in the future"
        );
        for odd in ["soon", "-0001-01-01T00:00:00", "+10000-01-01T00:00:00Z"] {
            let body = Fulfilment {
                key: SuppliedKey::new("key", "K").unwrap(),
                activations_limit: None,
                expires_at: Some(odd.into()),
            };
            assert!(body.resolve(&ent, now).is_err(), "{odd}");
        }
        let junk = Fulfilment {
            key: SuppliedKey::new("key", "K").unwrap(),
            activations_limit: None,
            expires_at: Some("soon".into()),
        };
        assert!(junk.resolve(&ent, now).unwrap_err().message.starts_with("expires_at"));
        let zero = Fulfilment {
            key: SuppliedKey::new("key", "K").unwrap(),
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
                key: SuppliedKey::new("key", k)?,
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
    fn grant_requests_are_checked() {
        let parse = |v: serde_json::Value| {
            serde_path_to_error::deserialize::<_, NewGrant>(v)
                .map_err(|err| crate::json::field_error("", &err.path().to_string(), err.inner()))?
                .validate()
        };
        assert!(parse(json!({"customer_id": "c", "customer_email": "a@b.co"})).is_ok());
        let err = parse(json!({"customer_id": "c", "customer_email": "not-an-email"})).unwrap_err();
        assert!(err.message.starts_with("customer_email"));
        let err = parse(json!({"customer_id": "", "customer_email": "a@b.co"})).unwrap_err();
        assert_eq!(err.message, "customer_id: must be 1 to 255 characters");
        let err =
            parse(json!({"customer_id": "c", "customer_email": "a@b.co", "customer_name": "A\r\nB"})).unwrap_err();
        assert_eq!(err.message, "customer_name: must not contain control characters");
        let metadata = json!({"customer_id": "c", "customer_email": "a@b.co", "metadata": {"k": [1]}});
        assert_eq!(
            parse(metadata).unwrap_err().message,
            "metadata.k: must be a string, number or boolean"
        );
        let metadata = json!({"customer_id": "c", "customer_email": "a@b.co", "metadata": {"": 1}});
        assert_eq!(
            parse(metadata).unwrap_err().message,
            "metadata key: must be 1 to 40 characters"
        );
    }
}
