//! The customer portal's session: who a link or cookie opens the portal for,
//! until when, and where its return button leads. Its secret is never here:
//! the store keys a session by the secret's digest.

use crate::refusal::{Refusal, RuleResult};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// How long a link, and the cookie session it opens, are good for.
pub const SESSION_HOURS: i64 = 24;
/// A `return_url` at most (a browser takes longer ones, a button need not).
pub const MAX_RETURN_URL: usize = 2048;

/// What a secret was minted as: the link the business hands out, or the
/// cookie a browser got by opening it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    Link,
    Cookie,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSession {
    pub business_id: String,
    pub customer_id: String,
    pub kind: SessionKind,
    pub return_url: Option<String>,
    /// Seconds since the epoch; the session opens nothing from then on.
    pub expires_at_s: i64,
}

impl PortalSession {
    /// A link for `customer_id` of `business_id`, made at `now`.
    pub fn link(business_id: &str, customer_id: &str, return_url: Option<String>, now: OffsetDateTime) -> Self {
        Self {
            business_id: business_id.to_string(),
            customer_id: customer_id.to_string(),
            kind: SessionKind::Link,
            return_url,
            expires_at_s: (now + Duration::hours(SESSION_HOURS)).unix_timestamp(),
        }
    }

    /// The cookie session opening this link gives: the same customer and
    /// return button, ending when the link does (opening it again gives no longer).
    pub fn opened(&self) -> Self {
        Self {
            kind: SessionKind::Cookie,
            ..self.clone()
        }
    }

    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now.unix_timestamp() < self.expires_at_s
    }

    /// Seconds the cookie should live: what is left of the session.
    pub fn seconds_left(&self, now: OffsetDateTime) -> i64 {
        (self.expires_at_s - now.unix_timestamp()).max(0)
    }
}

/// A `return_url` as the session keeps it: an absolute http(s) URL with a
/// host, no credentials and no control characters or spaces.
pub fn return_url(value: &str) -> RuleResult<String> {
    let invalid = |problem: &str| Refusal::invalid("return_url", problem);
    if value.len() > MAX_RETURN_URL {
        return Err(invalid("must be at most 2048 characters"));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid("must not contain spaces or control characters"));
    }
    let rest = ["https://", "http://"]
        .iter()
        .find_map(|scheme| {
            value
                .get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .map(|_| &value[scheme.len()..])
        })
        .ok_or_else(|| invalid("must be an absolute http or https URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(invalid("must not carry credentials"));
    }
    let host = authority.rsplit_once(':').map_or(authority, |(host, _)| host);
    if host.is_empty() || host.starts_with('.') {
        return Err(invalid("must name a host"));
    }
    Ok(value.to_string())
}

/// An ISO 8601 time as the page shows it: the date, then hours and minutes, in UTC.
pub fn shown_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_urls_are_absolute_http_or_https() {
        assert_eq!(
            return_url("https://shop.example/account?x=1").unwrap(),
            "https://shop.example/account?x=1"
        );
        assert!(return_url("HTTP://localhost:3000/").is_ok());
        for bad in [
            "",
            "/relative",
            "javascript:alert(1)",
            "ftp://x.example",
            "https://",
            "https://user:pw@x.example/",
            "https://x.example/a b",
            "https://:443/",
            "data:text/html,hi",
        ] {
            let refusal = return_url(bad).unwrap_err();
            assert!(refusal.message.starts_with("return_url:"), "{bad}: {}", refusal.message);
        }
        assert!(return_url(&format!("https://x.example/{}", "a".repeat(MAX_RETURN_URL))).is_err());
    }

    #[test]
    fn a_link_lives_a_day_and_its_cookie_no_longer() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let link = PortalSession::link("bus_1", "cus_1", None, now);
        assert_eq!(link.expires_at_s - now.unix_timestamp(), 24 * 3600);
        assert!(link.is_live(now + Duration::hours(23)));
        assert!(!link.is_live(now + Duration::hours(24)));
        let later = now + Duration::hours(20);
        let cookie = link.opened();
        assert_eq!(cookie.kind, SessionKind::Cookie);
        assert_eq!(cookie.expires_at_s, link.expires_at_s);
        assert_eq!(cookie.seconds_left(later), 4 * 3600);
        assert_eq!(cookie.seconds_left(now + Duration::hours(30)), 0);
    }

    #[test]
    fn times_as_shown() {
        assert_eq!(shown_time("2026-12-06T15:04:05.123Z"), "2026-12-06 15:04 UTC");
        assert_eq!(shown_time("soon"), "soon");
    }
}
