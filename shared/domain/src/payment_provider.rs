//! A seller's connection to its payment provider (SPEC §1.6): the secret the
//! provider signs its webhooks with, and the one it replaced, which keeps
//! verifying for a day so that deliveries signed before the change (and the
//! provider's retries of them) still land.

use crate::schema::string;
use crate::timestamp::{parse_rfc3339, rfc3339};
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// How long a replaced secret keeps verifying, in seconds.
pub const PREVIOUS_SECRET_S: i64 = 24 * 60 * 60;
pub const SECRET_MIN_BYTES: usize = 24;
pub const SECRET_MAX_BYTES: usize = 64;

/// What `SigningSecret` accepts, as the OpenAPI document states it: `whsec_`
/// and the padded standard base64 of 24 to 64 bytes (8 to 21 groups of four,
/// and a last group of one or two bytes whose unused bits are zero).
pub const SIGNING_SECRET_PATTERN: &str = "^whsec_(?:[A-Za-z0-9+/]{4}){8,20}\
    (?:[A-Za-z0-9+/]{4}(?:[A-Za-z0-9+/][AQgw]==)?|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=|[A-Za-z0-9+/][AQgw]==)?$";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Dodo,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Dodo => "dodo",
        }
    }

    /// The path of this service the provider delivers a business's events to.
    pub fn inbound_path(self, business_id: &str) -> String {
        format!("/inbound/{}/{business_id}", self.as_str())
    }
}

/// A Standard Webhooks signing secret, checked as the body is parsed (the 422
/// names the field, never the value). Its `Debug` shows no secret, so no log
/// line can carry one.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(String);

impl SigningSecret {
    fn problem(value: &str) -> Option<String> {
        let bytes = value
            .strip_prefix("whsec_")
            .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded).ok());
        let fits = bytes.is_some_and(|b| (SECRET_MIN_BYTES..=SECRET_MAX_BYTES).contains(&b.len()));
        (!fits).then(|| {
            format!(
                "must be `whsec_` and the base64 (standard, padded) of {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes"
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl TryFrom<String> for SigningSecret {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        match Self::problem(&value) {
            Some(problem) => Err(problem),
            None => Ok(Self(value)),
        }
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(..)")
    }
}

impl<'de> Deserialize<'de> for SigningSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::try_from(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl PartialSchema for SigningSecret {
    fn schema() -> RefOr<Schema> {
        string(SIGNING_SECRET_PATTERN)
            .description(Some(
                "`whsec_` and the standard base64 (padded) of 24 to 64 bytes, as the provider shows it.",
            ))
            .into()
    }
}

impl ToSchema for SigningSecret {}

/// `PUT /payment-providers/dodo`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PaymentProviderUpdate)]
pub struct ConnectionUpdate {
    /// The signing secret of the endpoint made for `webhook_url` at the
    /// provider. Never answered again.
    #[schema(schema_with = <SigningSecret as PartialSchema>::schema)]
    pub webhook_secret: SigningSecret,
}

/// What is stored of a business's connection to one provider. `version`
/// counts the writes, so each is conditioned on the one it read.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub business_id: String,
    pub provider: Provider,
    pub webhook_secret: String,
    /// The secret `webhook_secret` replaced, verifying until `previous_until`.
    pub previous_secret: Option<String>,
    pub previous_until: Option<String>,
    pub version: u64,
    pub updated_at: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("business_id", &self.business_id)
            .field("provider", &self.provider)
            .field("previous_until", &self.previous_until)
            .field("version", &self.version)
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// The connection once `secret` is set at `now`. A new secret makes the
    /// current one the previous, verifying for `PREVIOUS_SECRET_S` from now,
    /// and drops any older previous: only the latest replaced secret is kept.
    /// The current secret given again changes neither, so it never becomes its
    /// own previous nor extends the previous one's day.
    pub fn with_secret(
        current: Option<&Connection>,
        business_id: &str,
        provider: Provider,
        secret: SigningSecret,
        now: OffsetDateTime,
    ) -> Connection {
        let secret = secret.into_inner();
        let (previous_secret, previous_until) = match current {
            Some(current) if current.webhook_secret != secret => (
                Some(current.webhook_secret.clone()),
                Some(rfc3339(now + Duration::seconds(PREVIOUS_SECRET_S))),
            ),
            Some(current) if current.previous_verifies_at(now) => {
                (current.previous_secret.clone(), current.previous_until.clone())
            }
            _ => (None, None),
        };
        Connection {
            business_id: business_id.to_string(),
            provider,
            webhook_secret: secret,
            previous_secret,
            previous_until,
            version: current.map_or(1, |c| c.version + 1),
            updated_at: rfc3339(now),
        }
    }

    /// The secrets a delivery may be signed with at `now_s` (Unix seconds), for
    /// `standard_webhooks::verify`: the current one, then the previous one
    /// until its day is over.
    pub fn secrets_at(&self, now_s: i64) -> Vec<&str> {
        let mut secrets = vec![self.webhook_secret.as_str()];
        let now = OffsetDateTime::from_unix_timestamp(now_s).ok();
        if let (Some(previous), Some(now)) = (&self.previous_secret, now) {
            if self.previous_verifies_at(now) {
                secrets.push(previous);
            }
        }
        secrets
    }

    fn previous_verifies_at(&self, now: OffsetDateTime) -> bool {
        let until = self.previous_until.as_deref().and_then(parse_rfc3339);
        self.previous_secret.is_some() && until.is_some_and(|until| now < until)
    }

    /// The connection as its route answers it, `webhook_url` being where the
    /// provider is to deliver: never a secret.
    pub fn view(&self, webhook_url: String) -> ConnectionView {
        ConnectionView {
            provider: self.provider,
            webhook_url,
            secret_set: true,
            updated_at: self.updated_at.clone(),
        }
    }
}

/// A connection to a payment provider as `PUT /payment-providers/dodo` answers it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PaymentProviderConnection)]
pub struct ConnectionView {
    #[schema(inline)]
    pub provider: Provider,
    /// This service's URL for the provider's webhooks: the endpoint's URL at the provider.
    #[schema(examples("https://api.example.com/inbound/dodo/bus_123"))]
    pub webhook_url: String,
    /// A signing secret is stored (it is never shown).
    pub secret_set: bool,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standard_webhooks::verify;
    use crate::webhook::signature;

    const A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const B: &str = "whsec_YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJi";
    const C: &str = "whsec_Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj";
    const T0: i64 = 1_800_000_000;
    const DAY: i64 = PREVIOUS_SECRET_S;

    fn at(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(s).unwrap()
    }

    fn secret(value: &str) -> SigningSecret {
        SigningSecret::try_from(value.to_string()).unwrap()
    }

    fn set(current: Option<&Connection>, value: &str, now_s: i64) -> Connection {
        Connection::with_secret(current, "bus_1", Provider::Dodo, secret(value), at(now_s))
    }

    #[test]
    fn the_first_secret_has_no_previous() {
        let first = set(None, A, T0);
        assert_eq!((first.webhook_secret.as_str(), first.version), (A, 1));
        assert_eq!((first.previous_secret, first.previous_until), (None, None));
        assert_eq!(first.updated_at, rfc3339(at(T0)));
    }

    #[test]
    fn a_new_secret_keeps_the_old_one_for_a_day() {
        let first = set(None, A, T0);
        let second = set(Some(&first), B, T0 + 60);
        assert_eq!(second.webhook_secret, B);
        assert_eq!(second.previous_secret.as_deref(), Some(A));
        assert_eq!(second.previous_until, Some(rfc3339(at(T0 + 60 + DAY))));
        assert_eq!(second.version, 2);
        assert_eq!(second.secrets_at(T0 + 60), vec![B, A]);
        assert_eq!(second.secrets_at(T0 + 60 + DAY - 1), vec![B, A]);
        assert_eq!(second.secrets_at(T0 + 60 + DAY), vec![B]);
        assert_eq!(second.secrets_at(T0 + 60 + 2 * DAY), vec![B]);
    }

    #[test]
    fn rotating_twice_within_a_day_keeps_only_the_latest_previous() {
        let first = set(None, A, T0);
        let second = set(Some(&first), B, T0 + 10);
        let third = set(Some(&second), C, T0 + 20);
        assert_eq!(third.previous_secret.as_deref(), Some(B));
        assert_eq!(third.previous_until, Some(rfc3339(at(T0 + 20 + DAY))));
        assert_eq!(third.secrets_at(T0 + 30), vec![C, B]);
        assert_eq!(third.version, 3);
    }

    #[test]
    fn the_same_secret_again_is_not_its_own_previous_and_extends_nothing() {
        let first = set(None, A, T0);
        let again = set(Some(&first), A, T0 + 10);
        assert_eq!((again.previous_secret, again.version), (None, 2));
        let rotated = set(Some(&first), B, T0 + 10);
        let repeated = set(Some(&rotated), B, T0 + 3600);
        assert_eq!(repeated.previous_secret.as_deref(), Some(A));
        assert_eq!(repeated.previous_until, rotated.previous_until);
        assert_eq!(repeated.updated_at, rfc3339(at(T0 + 3600)));
        // Once its day is over, a write drops the previous secret.
        let later = set(Some(&rotated), B, T0 + 10 + DAY);
        assert_eq!((later.previous_secret, later.previous_until), (None, None));
    }

    #[test]
    fn the_previous_secret_verifies_until_its_day_is_over() {
        let rotated = set(Some(&set(None, A, T0)), B, T0);
        let (id, body) = ("msg_1", r#"{"type":"payment.succeeded"}"#);
        let check = |now_s: i64| {
            let signed = signature(A, id, now_s, body);
            let sent = now_s.to_string();
            verify(
                &rotated.secrets_at(now_s),
                Some(id),
                Some(&sent),
                Some(&signed),
                body.as_bytes(),
                now_s,
            )
        };
        assert!(check(T0 + DAY - 1).is_ok());
        assert!(check(T0 + DAY).is_err());
    }

    #[test]
    fn a_secret_is_whsec_and_the_base64_of_24_to_64_bytes() {
        let encode = |n: usize| {
            format!(
                "whsec_{}",
                base64::engine::general_purpose::STANDARD.encode(vec![7_u8; n])
            )
        };
        for n in [24, 25, 26, 32, 63, 64] {
            assert!(SigningSecret::try_from(encode(n)).is_ok(), "{n} bytes");
        }
        for n in [0, 23, 65, 96] {
            assert!(SigningSecret::try_from(encode(n)).is_err(), "{n} bytes");
        }
        let bytes32 = encode(32);
        for bad in [
            bytes32.trim_start_matches("whsec_").to_string(),
            bytes32.replace("whsec_", "whsec-"),
            bytes32.replace('=', ""),
            bytes32.replace("Bw", "B_"),
            format!("{bytes32}\n"),
            format!(" {bytes32}"),
            // The unused bits of the last group set.
            bytes32.replace("wc=", "wd="),
        ] {
            assert!(SigningSecret::try_from(bad.clone()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_refused_secret_is_named_by_its_field_and_never_shown() {
        let body = r#"{"webhook_secret": "whsec_c2hvcnQ="}"#;
        let mut deserializer = serde_json::Deserializer::from_str(body);
        let err = serde_path_to_error::deserialize::<_, ConnectionUpdate>(&mut deserializer).unwrap_err();
        let refusal = crate::json::field_error("", &err.path().to_string(), err.inner());
        assert!(
            refusal.message.starts_with("webhook_secret: must be `whsec_`"),
            "{}",
            refusal.message
        );
        assert!(!refusal.message.contains("c2hvcnQ"));
        let update: ConnectionUpdate = serde_json::from_str(&format!(r#"{{"webhook_secret": "{A}"}}"#)).unwrap();
        assert!(!format!("{update:?}").contains(A));
        let stored = set(Some(&set(None, A, T0)), B, T0);
        assert!(!format!("{stored:?}").contains("whsec_"));
    }

    #[test]
    fn the_view_has_no_secret() {
        let view = set(None, A, T0).view("https://api.example.com/inbound/dodo/bus_1".into());
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "provider": "dodo",
                "webhook_url": "https://api.example.com/inbound/dodo/bus_1",
                "secret_set": true,
                "updated_at": rfc3339(at(T0)),
            })
        );
        assert_eq!(Provider::Dodo.inbound_path("bus_1"), "/inbound/dodo/bus_1");
    }
}
