//! Webhook endpoints, the events they receive and the record of each delivery:
//! the rules of SPEC §1.5 and the Standard Webhooks signature.

use super::refusal::{Refusal, RuleResult};
use crate::schema::{object_of, or_null, Extended};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

pub const GRANT_CREATED: &str = "entitlement_grant.created";
pub const GRANT_DELIVERED: &str = "entitlement_grant.delivered";
pub const GRANT_FAILED: &str = "entitlement_grant.failed";
pub const GRANT_REVOKED: &str = "entitlement_grant.revoked";
pub const KEY_CREATED: &str = "license_key.created";
pub const KEY_UPDATED: &str = "license_key.updated";
pub const INSTANCE_CREATED: &str = "license_key_instance.created";
pub const INSTANCE_DELETED: &str = "license_key_instance.deleted";
pub const CREDIT_ADDED: &str = "credit.added";
pub const CREDIT_DEDUCTED: &str = "credit.deducted";
pub const CREDIT_EXPIRED: &str = "credit.expired";
pub const CREDIT_ROLLED_OVER: &str = "credit.rolled_over";
pub const CREDIT_ROLLOVER_FORFEITED: &str = "credit.rollover_forfeited";
pub const CREDIT_OVERAGE_CHARGED: &str = "credit.overage_charged";
pub const CREDIT_OVERAGE_RESET: &str = "credit.overage_reset";
pub const CREDIT_MANUAL_ADJUSTMENT: &str = "credit.manual_adjustment";
pub const CREDIT_BALANCE_LOW: &str = "credit.balance_low";

/// Every event type this service sends; Dodo's five, then ours with the same envelope.
pub const EVENT_TYPES: [&str; 16] = [
    GRANT_CREATED,
    GRANT_DELIVERED,
    GRANT_FAILED,
    GRANT_REVOKED,
    KEY_CREATED,
    KEY_UPDATED,
    INSTANCE_CREATED,
    INSTANCE_DELETED,
    CREDIT_ADDED,
    CREDIT_DEDUCTED,
    CREDIT_OVERAGE_CHARGED,
    CREDIT_EXPIRED,
    CREDIT_ROLLED_OVER,
    CREDIT_ROLLOVER_FORFEITED,
    CREDIT_OVERAGE_RESET,
    CREDIT_BALANCE_LOW,
];

/// The types this service sends beyond Dodo's: sent only to an endpoint whose
/// `filter_types` names them.
pub const OWN_TYPES: [&str; 3] = [KEY_UPDATED, INSTANCE_CREATED, INSTANCE_DELETED];

/// Dodo's other event types (the SDK's `WebhookEventType`): an unchanged client
/// may filter on them, so they are accepted, though this service never sends them.
pub const DODO_ONLY_TYPES: [&str; 35] = [
    "payment.succeeded",
    "payment.failed",
    "payment.processing",
    "payment.cancelled",
    "refund.succeeded",
    "refund.failed",
    "dispute.opened",
    "dispute.expired",
    "dispute.accepted",
    "dispute.cancelled",
    "dispute.challenged",
    "dispute.won",
    "dispute.lost",
    "subscription.active",
    "subscription.renewed",
    "subscription.on_hold",
    "subscription.past_due",
    "subscription.paused",
    "subscription.unpaused",
    "subscription.cancelled",
    "subscription.failed",
    "subscription.expired",
    "subscription.plan_changed",
    "subscription.updated",
    "subscription.update_payment_method",
    "payout.created",
    "payout.on_hold",
    "payout.in_progress",
    "payout.failed",
    "payout.success",
    CREDIT_MANUAL_ADJUSTMENT,
    "abandoned_checkout.detected",
    "abandoned_checkout.recovered",
    "dunning.started",
    "dunning.recovered",
];

/// At most this many types in `filter_types`.
pub const MAX_FILTER_TYPES: usize = 64;

/// Waits before each retry after a failed attempt (SPEC §1.5); attempts beyond
/// `1 + RETRY_DELAYS.len()` are not made and the delivery fails.
const RETRY_DELAYS_S: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// How long the receiver has to answer 2xx.
/// The most attempts a delivery makes.
pub const MAX_ATTEMPTS: usize = 1 + RETRY_DELAYS_S.len();

pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

pub const MAX_URL: usize = 2048;
pub const MAX_DESCRIPTION: usize = 1000;
pub const MAX_METADATA: usize = 50;
pub const MAX_HEADERS: usize = 20;
pub const MAX_RATE_LIMIT: u32 = 1000;
/// Headers every delivery sets itself, which an endpoint may not override.
pub const OUR_HEADERS: [&str; 7] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-length",
    "host",
    "user-agent",
];

/// A business's webhook endpoint as stored; `secret` and `headers` are read
/// through their own routes only.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub business_id: String,
    pub url: String,
    pub description: String,
    pub metadata: BTreeMap<String, String>,
    pub disabled: bool,
    pub filter_types: Vec<String>,
    pub rate_limit: Option<u32>,
    pub headers: BTreeMap<String, String>,
    pub secret: String,
    pub created_at: String,
    pub updated_at: String,
}

/// Dodo's `WebhookDetails`.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookDetails)]
pub struct EndpointDetails<'a> {
    #[schema(examples("wh_01JD8Q3Z5XK9V6M2N4P7R8S0TW"))]
    pub id: &'a str,
    #[schema(format = DateTime)]
    pub created_at: &'a str,
    #[schema(format = DateTime)]
    pub updated_at: &'a str,
    pub url: &'a str,
    /// Empty when none was given.
    pub description: &'a str,
    pub metadata: &'a BTreeMap<String, String>,
    /// A disabled endpoint gets no deliveries.
    pub disabled: bool,
    /// The event types the endpoint gets; empty for every type.
    #[schema(value_type = Vec<WebhookEventType>)]
    pub filter_types: &'a [String],
    /// At most this many deliveries per second; null for no limit.
    #[schema(required = true, schema_with = rate_limit)]
    pub rate_limit: Option<u32>,
}

impl Endpoint {
    pub fn details(&self) -> EndpointDetails<'_> {
        EndpointDetails {
            id: &self.id,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            url: &self.url,
            description: &self.description,
            metadata: &self.metadata,
            disabled: self.disabled,
            filter_types: &self.filter_types,
            rate_limit: self.rate_limit,
        }
    }

    /// Whether an event of `event_type` goes to this endpoint at all. With no
    /// filter an endpoint gets only Dodo's own types: the types beyond Dodo's
    /// (`OWN_TYPES`) are unknown to its SDKs (`webhooks.unwrap` would read them
    /// as some other event), so they go only where `filter_types` names them.
    pub fn wants(&self, event_type: &str) -> bool {
        let named = self.filter_types.iter().any(|t| t == event_type);
        let unfiltered = self.filter_types.is_empty() && !OWN_TYPES.contains(&event_type);
        !self.disabled && (named || unfiltered)
    }

    /// The headers as `GET /webhooks/{id}/headers` shows them: sensitive values
    /// left out and their names listed.
    pub fn shown_headers(&self) -> (BTreeMap<&str, &str>, Vec<&str>) {
        let (sensitive, shown): (Vec<_>, Vec<_>) = self.headers.iter().partition(|(name, _)| is_sensitive(name));
        (
            shown.into_iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            sensitive.into_iter().map(|(k, _)| k.as_str()).collect(),
        )
    }
}

fn is_sensitive(header: &str) -> bool {
    let name = header.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "x-api-key"
    ) || ["secret", "token", "password"].iter().any(|word| name.contains(word))
}

pub type Description = crate::json::Text<0, MAX_DESCRIPTION>;
/// An endpoint's URL, bounded in length and refused by name as a body is read:
/// `check_url` takes only this, so the bound cannot be left out. The rest of
/// its rule depends on whether loopback is allowed, so it is checked after.
pub type UrlText = crate::json::Text<1, MAX_URL>;
pub use crate::entitlement::{MetadataKey, MetadataText};
pub type BodyIdempotencyKey = crate::json::Text<1, 255>;

/// The body of `POST /webhooks`. Fields left out or null take their defaults:
/// no description, enabled, every event type, no headers, no metadata, no rate limit.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NewWebhook)]
pub struct NewEndpoint {
    #[schema(value_type = WebhookUrl)]
    pub url: UrlText,
    #[schema(inline)]
    pub description: Option<Description>,
    pub disabled: Option<bool>,
    /// Empty or null for every event type.
    #[schema(schema_with = filter_types)]
    pub filter_types: Option<Vec<String>>,
    #[schema(value_type = Option<WebhookHeaders>)]
    pub headers: Option<BTreeMap<String, String>>,
    pub metadata: Option<WebhookMetadata>,
    /// Deliveries per second to this endpoint; null for no limit.
    #[schema(schema_with = rate_limit)]
    pub rate_limit: Option<u32>,
    /// Dodo's body form of the `Idempotency-Key` header.
    #[schema(inline)]
    pub idempotency_key: Option<BodyIdempotencyKey>,
}

/// The body of `PATCH /webhooks/{id}`: fields left out or null keep their value.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = WebhookPatch)]
pub struct EndpointPatch {
    #[schema(value_type = Option<WebhookUrl>)]
    pub url: Option<UrlText>,
    #[schema(inline)]
    pub description: Option<Description>,
    pub disabled: Option<bool>,
    /// Replaces the list; empty for every event type.
    #[schema(schema_with = filter_types)]
    pub filter_types: Option<Vec<String>>,
    /// Replaces the whole metadata object.
    pub metadata: Option<WebhookMetadata>,
    #[schema(schema_with = rate_limit)]
    pub rate_limit: Option<u32>,
}

/// `headers` are added to the endpoint's own headers, or change those of the
/// same name (in any letter case); an empty value removes that header. At most
/// 20 after the change, else 422.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = WebhookHeadersUpdate)]
pub struct HeadersUpdate {
    #[schema(value_type = WebhookHeaders)]
    pub headers: BTreeMap<String, String>,
}

impl NewEndpoint {
    /// The endpoint this body describes, after checking every field.
    pub fn into_endpoint(
        self,
        id: String,
        business_id: &str,
        secret: String,
        now: &str,
        allow_loopback: bool,
    ) -> RuleResult<Endpoint> {
        check_url(&self.url, allow_loopback)?;
        let description = self.description.map(Description::into_inner).unwrap_or_default();
        let metadata = self.metadata.map(WebhookMetadata::into_inner).unwrap_or_default();
        let filter_types = self.filter_types.unwrap_or_default();
        check_filter_types(&filter_types)?;
        let headers = self.headers.unwrap_or_default();
        check_headers(&headers)?;
        check_rate_limit(self.rate_limit)?;
        Ok(Endpoint {
            id,
            business_id: business_id.to_string(),
            url: self.url.into_inner(),
            description,
            metadata,
            disabled: self.disabled.unwrap_or(false),
            filter_types,
            rate_limit: self.rate_limit,
            headers,
            secret,
            created_at: now.to_string(),
            updated_at: now.to_string(),
        })
    }
}

impl EndpointPatch {
    pub fn applied_to(self, current: &Endpoint, now: &str, allow_loopback: bool) -> RuleResult<Endpoint> {
        let mut next = current.clone();
        if let Some(url) = self.url {
            check_url(&url, allow_loopback)?;
            next.url = url.into_inner();
        }
        if let Some(description) = self.description {
            next.description = description.into_inner();
        }
        if let Some(metadata) = self.metadata {
            next.metadata = metadata.into_inner();
        }
        if let Some(filter_types) = self.filter_types {
            check_filter_types(&filter_types)?;
            next.filter_types = filter_types;
        }
        if self.rate_limit.is_some() {
            check_rate_limit(self.rate_limit)?;
            next.rate_limit = self.rate_limit;
        }
        if let Some(disabled) = self.disabled {
            next.disabled = disabled;
        }
        next.updated_at = now.to_string();
        Ok(next)
    }
}

impl HeadersUpdate {
    pub fn applied_to(self, current: &Endpoint, now: &str) -> RuleResult<Endpoint> {
        let mut headers = current.headers.clone();
        for (name, value) in self.headers {
            // Names match whatever their case, as HTTP has it.
            headers.retain(|existing, _| !existing.eq_ignore_ascii_case(&name));
            if !value.is_empty() {
                headers.insert(name, value);
            }
        }
        check_headers(&headers)?;
        Ok(Endpoint {
            headers,
            updated_at: now.to_string(),
            ..current.clone()
        })
    }
}

/// `http` or `https` with a host; a host written as an address must be one the
/// service may reach (names are checked at delivery, against what they resolve to).
/// No user name or password, and no backslash, which parsers read differently.
pub fn check_url(url: &UrlText, allow_loopback: bool) -> RuleResult<()> {
    let url = url.as_str();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| Refusal::invalid("url", "must start with https:// or http://"))?;
    if url.contains('\\') {
        return Err(Refusal::invalid("url", "must not contain a backslash"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(Refusal::invalid("url", "must not carry a user name or password"));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').unwrap_or((authority, "?")),
        None => authority.split_once(':').unwrap_or((authority, "")),
    };
    let port = port.strip_prefix(':').unwrap_or(port);
    let valid_port =
        port.is_empty() || (port.len() <= 5 && port.parse::<u16>().is_ok() && port.bytes().all(|b| b.is_ascii_digit()));
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if !valid_host || !valid_port || url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Refusal::invalid("url", "must name a host"));
    }
    let address = if authority.starts_with('[') {
        let v6 = host
            .parse::<Ipv6Addr>()
            .map_err(|_| Refusal::invalid("url", "must name a host"))?;
        Some(IpAddr::V6(v6))
    } else {
        host_ipv4(host)?.map(IpAddr::V4)
    };
    let refused = match address {
        Some(ip) => !address_allowed(ip, allow_loopback),
        None => is_localhost(host) && !allow_loopback,
    };
    if refused {
        return Err(Refusal::unprocessable(
            "WEBHOOK_URL_NOT_ALLOWED",
            "url: private, loopback and link-local addresses are not allowed",
        ));
    }
    Ok(())
}

/// `localhost` and the names under it, which resolve to loopback.
fn is_localhost(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// The IPv4 address a host written as one names, read as URL parsers (WHATWG)
/// and `inet_aton` read it: one to four parts, each decimal, octal (a leading
/// 0) or hexadecimal (0x), the last filling the bytes left (`127.1`,
/// `2130706433`, `0x7f.1`), and one trailing dot. A host whose last part is a
/// number is an address or invalid; any other is a name.
fn host_ipv4(host: &str) -> RuleResult<Option<Ipv4Addr>> {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    let last = parts.last().copied().unwrap_or_default();
    let ends_in_number = !last.is_empty() && (last.bytes().all(|b| b.is_ascii_digit()) || ipv4_number(last).is_some());
    if !ends_in_number {
        return Ok(None);
    }
    let invalid = || {
        Refusal::invalid(
            "url",
            "must name a host: a host ending in a number must be an IPv4 address",
        )
    };
    if parts.len() > 4 {
        return Err(invalid());
    }
    let numbers = parts
        .iter()
        .map(|part| ipv4_number(part))
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(invalid)?;
    let (last, leading) = numbers.split_last().ok_or_else(invalid)?;
    if leading.iter().any(|n| *n > 255) || *last >= 1u64 << (8 * (4 - leading.len())) {
        return Err(invalid());
    }
    let address = leading
        .iter()
        .enumerate()
        .fold(*last, |address, (i, n)| address | (*n << (8 * (3 - i))));
    Ok(Some(Ipv4Addr::from(address as u32)))
}

/// One part of an IPv4 address as URL parsers read it; `None` if it is no
/// number. Too large a value stays too large (saturating), never wraps.
fn ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
        (hex, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (&part[1..], 8)
    } else {
        (part, 10)
    };
    digits.chars().try_fold(0u64, |value, c| {
        c.to_digit(radix)
            .map(|d| value.saturating_mul(u64::from(radix)).saturating_add(u64::from(d)))
    })
}

/// Whether a delivery may connect to `ip`: never to a private, loopback,
/// link-local, unspecified or multicast address (loopback only when allowed,
/// for the local stack).
pub fn address_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    if ip.is_loopback() {
        return allow_loopback;
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || a >= 240 // reserved, and broadcast
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19)))
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let first = segments[0];
            // Forms that carry an IPv4 address could reach a private one: NAT64
            // (64:ff9b::/96 and the local-use 64:ff9b:1::/48), 6to4, Teredo,
            // IPv4-compatible (::/96) and IPv4-translated (::ffff:0:0:0/96).
            let embeds_v4 = segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
                || segments[..3] == [0x64, 0xff9b, 1]
                || first == 0x2002
                || segments[..2] == [0x2001, 0]
                || segments[..6] == [0; 6]
                || segments[..6] == [0, 0, 0, 0, 0xffff, 0];
            !(v6.is_unspecified()
                || v6.is_multicast()
                || embeds_v4
                || segments[..4] == [0x100, 0, 0, 0] // discard-only
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0) // site-local (deprecated, still routed by some)
        }
    }
}

/// An endpoint's metadata as a body gives it, checked as it is parsed: at most
/// `MAX_METADATA` entries of a `MetadataKey` and a `MetadataText`. A refusal
/// names `metadata key` or `metadata.<key>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WebhookMetadata(BTreeMap<String, String>);

impl WebhookMetadata {
    pub fn into_inner(self) -> BTreeMap<String, String> {
        self.0
    }

    /// The part at fault (as a suffix of the field) and the problem.
    fn problem(metadata: &BTreeMap<String, String>) -> Option<(String, String)> {
        if metadata.len() > MAX_METADATA {
            return Some((String::new(), format!("at most {MAX_METADATA} entries")));
        }
        metadata.iter().find_map(|(key, value)| {
            MetadataKey::problem(key)
                .map(|problem| (" key".to_string(), problem))
                .or_else(|| MetadataText::problem(value).map(|problem| (format!(".{key}"), problem)))
        })
    }
}

impl<'de> Deserialize<'de> for WebhookMetadata {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let metadata = BTreeMap::<String, String>::deserialize(deserializer)?;
        match Self::problem(&metadata) {
            Some((part, problem)) => Err(serde::de::Error::custom(crate::json::part_problem(&part, problem))),
            None => Ok(Self(metadata)),
        }
    }
}

fn check_filter_types(types: &[String]) -> RuleResult<()> {
    if types.len() > MAX_FILTER_TYPES {
        return Err(Refusal::invalid(
            "filter_types",
            format!("at most {MAX_FILTER_TYPES} types"),
        ));
    }
    let known = |t: &str| EVENT_TYPES.contains(&t) || DODO_ONLY_TYPES.contains(&t);
    match types.iter().find(|t| !known(t)) {
        Some(unknown) => Err(Refusal::invalid(
            "filter_types",
            format!(
                "unknown event type {unknown:?}; this service sends {}",
                EVENT_TYPES.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

fn check_headers(headers: &BTreeMap<String, String>) -> RuleResult<()> {
    if headers.len() > MAX_HEADERS {
        return Err(Refusal::invalid("headers", format!("at most {MAX_HEADERS} headers")));
    }
    for (name, value) in headers {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+.^_`|~-".contains(c);
        if name.is_empty() || name.len() > 100 || !name.chars().all(token) {
            return Err(Refusal::invalid("headers", format!("{name:?} is not a header name")));
        }
        if OUR_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(Refusal::invalid("headers", format!("{name} is set by the service")));
        }
        if value.len() > 1000 || !value.chars().all(|c| (' '..='~').contains(&c)) {
            return Err(Refusal::invalid(
                &format!("headers.{name}"),
                "must be at most 1000 printable ASCII characters",
            ));
        }
    }
    Ok(())
}

fn check_rate_limit(rate_limit: Option<u32>) -> RuleResult<()> {
    match rate_limit {
        Some(limit) if !(1..=MAX_RATE_LIMIT).contains(&limit) => Err(Refusal::invalid(
            "rate_limit",
            format!("must be from 1 to {MAX_RATE_LIMIT} per second"),
        )),
        _ => Ok(()),
    }
}

/// A new endpoint secret: `whsec_` and the base64 of 32 random bytes.
pub fn secret_from(random: [u8; 32]) -> String {
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(random))
}

/// The Standard Webhooks signature header: `v1,` and the base64 HMAC-SHA256 of
/// `id.timestamp.body` under the secret's bytes.
pub fn signature(secret: &str, id: &str, timestamp_s: i64, body: &str) -> String {
    let digest = signed_content(secret, id, &timestamp_s.to_string(), body.as_bytes())
        .finalize()
        .into_bytes();
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// The HMAC of `id.timestamp.body` under the secret's bytes, not yet finalized:
/// `signature` encodes it, `standard_webhooks::verify` compares an inbound one
/// with it in constant time. `timestamp` is taken as written, as the sender signed it.
pub(crate) fn signed_content(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> Hmac<sha2::Sha256> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap_or_else(|_| encoded.as_bytes().to_vec());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
    for part in [id.as_bytes(), b".", timestamp.as_bytes(), b".", body] {
        mac.update(part);
    }
    mac
}

/// A change, as the event that reports it: written in the change's own transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: String,
    pub business_id: String,
    pub event_type: &'static str,
    /// The grant or license key whose events keep their order.
    pub subject_id: String,
    /// The envelope `{business_id, type, timestamp, data}`, sent byte for byte on every attempt.
    pub payload: String,
}

impl Event {
    pub fn new(
        id: String,
        business_id: &str,
        event_type: &'static str,
        subject_id: &str,
        timestamp: &str,
        data: &impl Serialize,
    ) -> Self {
        let payload = serde_json::json!({
            "business_id": business_id,
            "type": event_type,
            "timestamp": timestamp,
            "data": data,
        })
        .to_string();
        Self {
            id,
            business_id: business_id.to_string(),
            event_type,
            subject_id: subject_id.to_string(),
            payload,
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// One try at a delivery, as the deliveries route shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[schema(as = WebhookDeliveryAttempt)]
pub struct Attempt {
    #[schema(format = DateTime)]
    pub attempted_at: String,
    /// The endpoint's answer; null when none came.
    #[schema(required = true)]
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    /// Why the attempt failed without an answer (e.g. `address not allowed`).
    #[schema(required = true)]
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|code| (200..300).contains(&code))
    }
}

/// One event on its way to one endpoint.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[schema(as = WebhookDelivery)]
pub struct Delivery {
    /// The event's id, sent as `webhook-id` on every attempt.
    #[schema(examples("evt_01JD8Q3Z5XK9V6M2N4P7R8S0TW"))]
    pub id: String,
    pub webhook_id: String,
    #[schema(value_type = WebhookEventType)]
    pub event_type: String,
    /// The grant or license key the event is about.
    pub subject_id: String,
    #[schema(inline)]
    pub status: DeliveryStatus,
    #[schema(schema_with = attempts)]
    pub attempts: Vec<Attempt>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Null once delivered or failed.
    #[schema(required = true, format = DateTime)]
    pub next_attempt_at: Option<String>,
}

/// What to do after an attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Delivered, or given up: the delivery leaves the queue.
    Done,
    RetryIn(Duration),
}

impl Delivery {
    pub fn new(event_id: &str, event_type: &str, subject_id: &str, webhook_id: &str, now: &str) -> Self {
        Self {
            id: event_id.to_string(),
            webhook_id: webhook_id.to_string(),
            event_type: event_type.to_string(),
            subject_id: subject_id.to_string(),
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            created_at: now.to_string(),
            next_attempt_at: Some(now.to_string()),
        }
    }

    /// The delivery with `attempt` recorded, and what comes next; `retry_at`
    /// turns the wait into the time shown as `next_attempt_at`.
    pub fn after_attempt(&self, attempt: Attempt, retry_at: impl Fn(Duration) -> String) -> (Self, Next) {
        let mut next = self.clone();
        let succeeded = attempt.succeeded();
        next.attempts.push(attempt);
        let wait = RETRY_DELAYS_S
            .get(next.attempts.len() - 1)
            .map(|s| Duration::from_secs(*s));
        match (succeeded, wait) {
            (true, _) => {
                next.status = DeliveryStatus::Delivered;
                next.next_attempt_at = None;
                (next, Next::Done)
            }
            (false, Some(wait)) => {
                next.next_attempt_at = Some(retry_at(wait));
                (next, Next::RetryIn(wait))
            }
            (false, None) => {
                next.status = DeliveryStatus::Failed;
                next.next_attempt_at = None;
                (next, Next::Done)
            }
        }
    }

    /// Gives up without an attempt (the endpoint is gone or disabled).
    pub fn abandoned(&self, why: &str, now: &str) -> Self {
        let mut next = self.clone();
        next.attempts.push(Attempt {
            attempted_at: now.to_string(),
            status_code: None,
            duration_ms: 0,
            error: Some(why.to_string()),
        });
        next.status = DeliveryStatus::Failed;
        next.next_attempt_at = None;
        next
    }
}

// ---- the schemas of the fields above that a derive cannot state ----

/// Every type a filter may name: those this service sends, then Dodo's others.
pub struct WebhookEventType;

impl PartialSchema for WebhookEventType {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(EVENT_TYPES.into_iter().chain(DODO_ONLY_TYPES)))
            .description(Some(format!(
                "The types this service sends (the first {}), then Dodo's others, which a filter may name though \
                 this service never sends them.",
                EVENT_TYPES.len()
            )))
            .into()
    }
}

impl ToSchema for WebhookEventType {}

/// An endpoint's address as `check_url` takes it.
pub struct WebhookUrl;

impl PartialSchema for WebhookUrl {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::from(object_of::<UrlText>())
            .pattern(Some("^https?://[^/?#]"))
            .examples(["https://example.com/webhooks/licensing"])
            .description(Some(format!(
                "An `http://` or `https://` URL with a host, at most {MAX_URL} characters. A host that is \
                 `localhost` or an IP address in a private, loopback, link-local, unspecified or multicast range, \
                 in any spelling URL parsers accept (`2130706433`, `0x7f.1`, NAT64 or IPv4-mapped IPv6), is \
                 422 `WEBHOOK_URL_NOT_ALLOWED`; every address a host name resolves to is checked again at each \
                 delivery. No user name, password or backslash."
            )))
            .into()
    }
}

impl ToSchema for WebhookUrl {}

impl PartialSchema for WebhookMetadata {
    fn schema() -> RefOr<Schema> {
        let key = Schema::Object(object_of::<MetadataKey>());
        ObjectBuilder::new()
            .max_properties(Some(MAX_METADATA))
            .property_names(Some(key))
            .additional_properties(Some(MetadataText::schema()))
            .description(Some(format!(
                "Up to {MAX_METADATA} keys of 1 to 40 characters; values are strings of at most 500 characters."
            )))
            .into()
    }
}

impl ToSchema for WebhookMetadata {}

/// Headers as `check_headers` takes them; the names the service sets itself
/// are refused in any letter case.
pub struct WebhookHeaders;

impl WebhookHeaders {
    pub fn extended() -> Extended {
        let any_case = |name: &str| -> String {
            name.chars()
                .map(|c| match c.is_ascii_alphabetic() {
                    true => format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase()),
                    false => c.to_string(),
                })
                .collect()
        };
        let ours: Vec<String> = OUR_HEADERS.iter().map(|name| any_case(name)).collect();
        let names = json!({
            "minLength": 1,
            "maxLength": 100,
            "pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
            "not": {"pattern": format!("^(?:{})$", ours.join("|"))},
        });
        Extended::with(Self::schema(), "propertyNames", names)
    }
}

impl PartialSchema for WebhookHeaders {
    fn schema() -> RefOr<Schema> {
        let value = ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(1000))
            .pattern(Some("^[ -~]*$"));
        ObjectBuilder::new()
            .max_properties(Some(MAX_HEADERS))
            .additional_properties(Some(value))
            .description(Some(format!(
                "Headers sent with every delivery to the endpoint: up to {MAX_HEADERS}; a name is 1 to 100 HTTP \
                 token characters and not one the service sets itself ({}, in any letter case); a value is at most \
                 1000 printable ASCII characters.",
                OUR_HEADERS.map(|name| format!("`{name}`")).join(", ")
            )))
            .into()
    }
}

impl ToSchema for WebhookHeaders {}

pub fn filter_types() -> ArrayBuilder {
    ArrayBuilder::new()
        .schema_type(or_null(Type::Array))
        .items(Ref::from_schema_name(WebhookEventType::name()))
        .max_items(Some(MAX_FILTER_TYPES))
        .description(Some(format!(
            "The types the endpoint gets. Empty, null or left out: every type of Dodo's that this service sends; \
             the types beyond Dodo's ({}) go only to an endpoint that names them.",
            OWN_TYPES.join(", ")
        )))
}

pub fn rate_limit() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(or_null(Type::Integer))
        .minimum(Some(1))
        .maximum(Some(MAX_RATE_LIMIT))
}

pub fn attempts() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(Ref::from_schema_name(Attempt::name()))
        .max_items(Some(MAX_ATTEMPTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> UrlText {
        UrlText::new("url", text).unwrap()
    }

    fn new_endpoint(url: &str) -> NewEndpoint {
        NewEndpoint {
            url: UrlText::new("url", url).unwrap(),
            description: None,
            disabled: None,
            filter_types: None,
            headers: None,
            metadata: None,
            rate_limit: None,
            idempotency_key: None,
        }
    }

    fn endpoint() -> Endpoint {
        new_endpoint("https://example.com/hook")
            .into_endpoint("wh_1".into(), "bus_1", secret_from([7; 32]), "t0", false)
            .unwrap()
    }

    #[test]
    fn urls_need_a_scheme_and_a_reachable_host() {
        assert!(check_url(&url("https://example.com/x?y=1"), false).is_ok());
        assert!(check_url(&url("http://example.com:8080"), false).is_ok());
        assert!(check_url(&url("http://[2001:db8::1]:80/x"), false).is_ok());
        for bad in [
            "ftp://example.com",
            "example.com",
            "https://",
            "https:///x",
            "https://a b",
        ] {
            assert_eq!(
                check_url(&url(bad), false).unwrap_err().code,
                "VALIDATION_ERROR",
                "{bad}"
            );
        }
        for private in [
            "http://10.0.0.1/",
            "http://192.168.1.1",
            "http://169.254.169.254/latest",
            "http://127.0.0.1:9/",
            "http://localhost/",
            "http://[::1]/",
            "http://[fe80::1]/",
            "http://0.0.0.0/",
        ] {
            assert_eq!(
                check_url(&url(private), false).unwrap_err().code,
                "WEBHOOK_URL_NOT_ALLOWED",
                "{private}"
            );
        }
        assert!(check_url(&url("http://127.0.0.1:9/"), true).is_ok());
        assert!(
            check_url(&url("http://10.0.0.1/"), true).is_err(),
            "only loopback is ever allowed"
        );
    }

    #[test]
    fn private_addresses_in_other_spellings_are_refused_even_with_loopback_allowed() {
        for private in [
            "http://0251.0376.0251.0376/", // 169.254.169.254, octal
            "http://0xa9fea9fe/",
            "http://0XA9.0xFE.0xa9.0xfe/",
            "http://2852039166/",
            "http://169.254.43518/",
            "http://169.16689662/",
            "http://0/",
            "http://0x0/",
            "http://00/",
            "http://0.0/",
            "http://10.1/",
            "http://012.1/",
            "http://0x0a000001/",
            "http://167772161/",
            "http://10.0.0.1./",
            "http://192.168.0x1.1:8080/",
            "http://[64:ff9b:1::a9fe:a9fe]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[::ffff:0:a9fe:a9fe]/",
            "http://[::ffff:0:169.254.169.254]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[::a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", // Teredo
            "http://[fec0::1]/",
            "http://[FEFF::1]/",
            "http://[fd12:3456::1]/",
            "http://[fc00::1]/",
            "http://[fe80::1]/",
            "http://[::]/",
            "http://[100::1]/",
            "http://[ff02::1]/",
        ] {
            for allow_loopback in [false, true] {
                assert_eq!(
                    check_url(&url(private), allow_loopback).map_err(|r| r.code),
                    Err("WEBHOOK_URL_NOT_ALLOWED"),
                    "{private} (loopback allowed: {allow_loopback})"
                );
            }
        }
    }

    #[test]
    fn loopback_in_any_spelling_is_127_0_0_1() {
        for loopback in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0x7f000001/",
            "http://017700000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://127.0.1:9/",
            "http://127.0.0.1./",
            "http://127.255.255.254/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[0:0:0:0:0:0:0:1]/",
            "http://LOCALHOST./",
            "http://hooks.localhost/",
        ] {
            assert_eq!(
                check_url(&url(loopback), false).map_err(|r| r.code),
                Err("WEBHOOK_URL_NOT_ALLOWED"),
                "{loopback}"
            );
            assert_eq!(check_url(&url(loopback), true), Ok(()), "{loopback}");
        }
    }

    #[test]
    fn a_host_that_ends_in_a_number_must_be_an_address() {
        for bad in [
            "http://1.2.3.4.5/",
            "http://256.1.1.1/",
            "http://1.2.3.256/",
            "http://1.2.3.0x100/",
            "http://1.16777216/",
            "http://4294967296/",
            "http://0x1ffffffffffffffffffff/",
            "http://08/",
            "http://0x7g.1/",
            "http://1..2/",
            "http://example.123/",
            "http://example.0x7f/",
            "http://[example.com]/",
            "http://[fe80::1%25eth0]/",
            "http://example.com:80x/",
            "http://example.com:99999/",
        ] {
            assert_eq!(
                check_url(&url(bad), true).map_err(|r| r.code),
                Err("VALIDATION_ERROR"),
                "{bad}"
            );
        }
        for fine in [
            "http://8.8.8.8/",
            "http://134744072/",
            "http://0x8.0x8.0x8.0x8/",
            "https://123.example.com/",
            "https://0x7f.example/",
            "https://example.com:/x",
            "https://example.com./x",
        ] {
            assert_eq!(check_url(&url(fine), false), Ok(()), "{fine}");
        }
    }

    #[test]
    fn credentials_and_backslashes_are_refused() {
        for bad in [
            "http://user:pass@example.com/",
            "http://user@example.com/",
            "http://@example.com/",
            "https://example.com:443@10.0.0.1/",
            "http://169.254.169.254\\@example.com/",
            "http://example.com\\x/",
            "https://example.com/a\\b",
        ] {
            assert_eq!(
                check_url(&url(bad), true).map_err(|r| r.code),
                Err("VALIDATION_ERROR"),
                "{bad}"
            );
        }
        assert_eq!(check_url(&url("https://example.com/a@b?c=d@e"), false), Ok(()));
    }

    #[test]
    fn a_url_out_of_its_length_is_refused_as_the_body_is_read() {
        fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, String> {
            let mut deserializer = serde_json::Deserializer::from_str(body);
            serde_path_to_error::deserialize(&mut deserializer)
                .map_err(|err| crate::json::field_error("", &err.path().to_string(), err.inner()).message)
        }
        let longest = format!("https://example.com/{}", "x".repeat(MAX_URL - 20));
        let new: NewEndpoint = parse(&format!(r#"{{"url": "{longest}"}}"#)).unwrap();
        assert_eq!(new.url.len(), MAX_URL);
        let rule = "url: must be 1 to 2048 characters";
        for url in [String::new(), format!("{longest}x")] {
            let body = format!(r#"{{"url": "{url}"}}"#);
            assert_eq!(parse::<NewEndpoint>(&body).unwrap_err(), rule, "{}", url.len());
            assert_eq!(parse::<EndpointPatch>(&body).unwrap_err(), rule, "{}", url.len());
        }
    }

    #[test]
    fn addresses_allowed_for_delivery() {
        assert!(address_allowed(IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34)), false));
        assert!(!address_allowed(IpAddr::V4(Ipv4Addr::new(172, 16, 0, 1)), false));
        assert!(!address_allowed(IpAddr::V4(Ipv4Addr::new(100, 64, 0, 1)), false));
        let mapped = Ipv4Addr::new(10, 1, 2, 3).to_ipv6_mapped();
        assert!(!address_allowed(IpAddr::V6(mapped), false));
        assert!(!address_allowed(IpAddr::V6(Ipv6Addr::LOCALHOST), false));
        assert!(address_allowed(IpAddr::V6(Ipv6Addr::LOCALHOST), true));
        assert!(!address_allowed(IpAddr::V6("fd00::1".parse().unwrap()), true));
        for embedding in ["64:ff9b::a00:1", "2002:a00:1::1", "::a00:1"] {
            assert!(
                !address_allowed(IpAddr::V6(embedding.parse().unwrap()), false),
                "{embedding}"
            );
        }
        assert!(!address_allowed(IpAddr::V4(Ipv4Addr::new(240, 0, 0, 1)), false));
        assert!(!address_allowed(IpAddr::V4(Ipv4Addr::new(192, 0, 0, 8)), false));
        assert!(address_allowed(IpAddr::V6("2606:4700::1111".parse().unwrap()), false));
    }

    #[test]
    fn fields_are_bounded() {
        let mut body = new_endpoint("https://example.com");
        body.filter_types = Some(vec!["payment.made_up".into()]);
        assert!(body
            .into_endpoint("wh".into(), "b", "s".into(), "t", false)
            .unwrap_err()
            .message
            .starts_with("filter_types"));
        let mut body = new_endpoint("https://example.com");
        body.rate_limit = Some(0);
        assert!(body.into_endpoint("wh".into(), "b", "s".into(), "t", false).is_err());
        let mut body = new_endpoint("https://example.com");
        body.headers = Some(BTreeMap::from([("Webhook-Id".into(), "x".into())]));
        assert!(body.into_endpoint("wh".into(), "b", "s".into(), "t", false).is_err());
        let mut body = new_endpoint("https://example.com");
        body.headers = Some(BTreeMap::from([("X-Tag".into(), "line\nbreak".into())]));
        assert!(body.into_endpoint("wh".into(), "b", "s".into(), "t", false).is_err());
    }

    #[test]
    fn filters_and_disabled_decide_who_gets_an_event() {
        let mut endpoint = endpoint();
        assert!(endpoint.wants("license_key.created"));
        endpoint.filter_types = vec!["license_key.created".into()];
        assert!(endpoint.wants("license_key.created"));
        assert!(!endpoint.wants("entitlement_grant.created"));
        endpoint.disabled = true;
        assert!(!endpoint.wants("license_key.created"));
    }

    #[test]
    fn types_beyond_dodo_go_only_where_named() {
        let mut endpoint = endpoint();
        for own in OWN_TYPES {
            assert!(!endpoint.wants(own), "{own} without a filter");
        }
        for dodo in &EVENT_TYPES[..5] {
            assert!(endpoint.wants(dodo), "{dodo} without a filter");
        }
        endpoint.filter_types = vec![KEY_UPDATED.into(), GRANT_CREATED.into()];
        assert!(endpoint.wants(KEY_UPDATED));
        assert!(endpoint.wants(GRANT_CREATED));
        assert!(!endpoint.wants(INSTANCE_CREATED));
        assert!(!endpoint.wants(KEY_CREATED));
        endpoint.filter_types = vec![INSTANCE_CREATED.into(), INSTANCE_DELETED.into()];
        assert!(endpoint.wants(INSTANCE_CREATED) && endpoint.wants(INSTANCE_DELETED));
        endpoint.disabled = true;
        assert!(!endpoint.wants(INSTANCE_CREATED));
    }

    #[test]
    fn patches_change_only_what_they_name() {
        let current = endpoint();
        let patch = EndpointPatch {
            url: None,
            description: Some(Description::new("description", "new").unwrap()),
            disabled: Some(true),
            filter_types: None,
            metadata: None,
            rate_limit: Some(5),
        };
        let next = patch.applied_to(&current, "t1", false).unwrap();
        assert_eq!(
            (next.description.as_str(), next.disabled, next.rate_limit),
            ("new", true, Some(5))
        );
        assert_eq!(
            (next.url.as_str(), next.updated_at.as_str()),
            (current.url.as_str(), "t1")
        );
        assert_eq!(next.secret, current.secret);
    }

    #[test]
    fn header_updates_add_change_and_remove() {
        let mut current = endpoint();
        current.headers = BTreeMap::from([("X-Team".into(), "a".into()), ("X-Old".into(), "o".into())]);
        let update = HeadersUpdate {
            headers: BTreeMap::from([
                ("x-team".into(), "b".into()),
                ("X-Old".into(), String::new()),
                ("X-New".into(), "n".into()),
            ]),
        };
        let next = update.applied_to(&current, "t1").unwrap();
        assert_eq!(
            next.headers,
            BTreeMap::from([("X-New".into(), "n".into()), ("x-team".into(), "b".into())])
        );
    }

    #[test]
    fn dodo_types_are_accepted_in_filters() {
        assert!(check_filter_types(&["payment.succeeded".into(), "license_key.created".into()]).is_ok());
        assert!(check_filter_types(&["payment.made_up".into()]).is_err());
    }

    #[test]
    fn sensitive_headers_are_named_not_shown() {
        let mut endpoint = endpoint();
        endpoint.headers = BTreeMap::from([
            ("Authorization".into(), "Bearer x".into()),
            ("X-Api-Token".into(), "t".into()),
            ("X-Tag".into(), "blue".into()),
        ]);
        let (shown, sensitive) = endpoint.shown_headers();
        assert_eq!(shown, BTreeMap::from([("X-Tag", "blue")]));
        assert_eq!(sensitive, vec!["Authorization", "X-Api-Token"]);
    }

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_carry_32_random_bytes() {
        let secret = secret_from([1; 32]);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(bytes, vec![1; 32]);
    }

    #[test]
    fn the_envelope_holds_the_data() {
        let event = Event::new(
            "evt_1".into(),
            "bus_1",
            "license_key.created",
            "lk_1",
            "2026-01-01T00:00:00.000Z",
            &serde_json::json!({"id": "lk_1"}),
        );
        let envelope: serde_json::Value = serde_json::from_str(&event.payload).unwrap();
        assert_eq!(envelope["type"], "license_key.created");
        assert_eq!(envelope["business_id"], "bus_1");
        assert_eq!(envelope["data"]["id"], "lk_1");
        assert_eq!(envelope["timestamp"], "2026-01-01T00:00:00.000Z");
    }

    fn attempt(status_code: Option<u16>) -> Attempt {
        Attempt {
            attempted_at: "t".into(),
            status_code,
            duration_ms: 3,
            error: None,
        }
    }

    #[test]
    fn retries_back_off_then_give_up() {
        let mut delivery = Delivery::new("evt_1", "license_key.created", "lk_1", "wh_1", "t");
        let mut waits = Vec::new();
        loop {
            let (next, what) = delivery.after_attempt(attempt(Some(503)), |_| "later".into());
            delivery = next;
            match what {
                Next::RetryIn(wait) => waits.push(wait.as_secs()),
                Next::Done => break,
            }
        }
        assert_eq!(waits, vec![5, 300, 1_800, 7_200, 18_000, 36_000, 36_000]);
        assert_eq!((delivery.status, delivery.attempts.len()), (DeliveryStatus::Failed, 8));
        assert_eq!(delivery.next_attempt_at, None);
    }

    #[test]
    fn a_2xx_delivers() {
        let delivery = Delivery::new("evt_1", "license_key.created", "lk_1", "wh_1", "t");
        let (failed, next) = delivery.after_attempt(attempt(None), |_| "t+5s".into());
        assert_eq!(next, Next::RetryIn(Duration::from_secs(5)));
        assert_eq!(failed.next_attempt_at.as_deref(), Some("t+5s"));
        let (delivered, next) = failed.after_attempt(attempt(Some(204)), |_| unreachable!());
        assert_eq!((delivered.status, next), (DeliveryStatus::Delivered, Next::Done));
        assert_eq!(delivered.attempts.len(), 2);
    }
}
