//! API keys and the principals they stand for.
//!
//! A key is shown once when minted; only its SHA-256 is stored. A warm
//! container remembers the keys it has resolved, so a warm request pays no
//! DynamoDB call for authentication.

use crate::error::ApiError;
use base64::Engine;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use crate::domain::principal::{Principal, PrincipalKind};

/// Which principals a route admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No API key; each source address is counted against the public limit.
    Public,
    /// No API key and no count: a published document (the JWK Set) that
    /// clients cache, which costs no DynamoDB call.
    Published,
    /// No API key: the handler verifies the body's signature (Standard
    /// Webhooks) under the secret of the business its path names.
    Signed,
    /// A customer portal's JSON route: the link's token as `Authorization:
    /// Bearer`, or the session cookie (a write with it only from the same origin).
    Portal,
    /// A customer portal page: the link's token in its path, or the session
    /// cookie; its errors are pages too.
    PortalPage,
    Business,
    Host,
    Organization,
    HostOrOrganization,
}

impl Access {
    pub fn admits(self, kind: PrincipalKind) -> bool {
        matches!(
            (self, kind),
            (Access::Business, PrincipalKind::Business)
                | (Access::Host, PrincipalKind::Host)
                | (Access::Organization, PrincipalKind::Organization)
                | (
                    Access::HostOrOrganization,
                    PrincipalKind::Host | PrincipalKind::Organization
                )
        )
    }
}

/// A new API key: `lsk_` and a secret.
pub fn mint_secret() -> String {
    new_secret("lsk")
}

/// 32 random bytes, URL-safe, after a prefix that names what the secret opens
/// (an API key `lsk_`, a portal link's token `cps_`, a portal cookie's
/// `cpc_`), so a leaked one is recognisable.
pub fn new_secret(prefix: &str) -> String {
    let bytes = crate::ids::random_bytes::<32>();
    format!(
        "{prefix}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Lowercase hex SHA-256 of a secret: the only form in which a key is stored.
pub fn hash_secret(secret: &str) -> String {
    crate::digest::sha256_hex(secret)
}

/// The secret from an `Authorization: Bearer <secret>` header.
pub fn bearer_secret(header: Option<&str>) -> Result<&str, ApiError> {
    let value = header.ok_or_else(ApiError::unauthorized)?;
    let (scheme, secret) = value.trim().split_once(' ').ok_or_else(ApiError::unauthorized)?;
    let secret = secret.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || secret.is_empty() || secret.len() > 512 {
        return Err(ApiError::unauthorized());
    }
    Ok(secret)
}

/// The cookie a portal session rides on, scoped to the portal's own paths.
pub const PORTAL_COOKIE: &str = "portal_session";

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty() && value.len() <= 512)
}

/// Whether a request with a cookie comes from a page of this origin. A
/// browser says so in `Sec-Fetch-Site`, which no page can set; its `Origin`,
/// when it names one (under `Referrer-Policy: no-referrer` a form's is
/// `null`), must be this host too. Without either it may be another site's form.
pub fn same_origin(origin: Option<&str>, host: Option<&str>, fetch_site: Option<&str>) -> bool {
    let site_agrees = fetch_site.is_none_or(|site| site == "same-origin");
    match origin.filter(|origin| *origin != "null") {
        Some(origin) => {
            site_agrees
                && host.is_some_and(|host| {
                    origin
                        .split_once("://")
                        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
                })
        }
        None => fetch_site == Some("same-origin"),
    }
}

/// Resolved keys of this container, known and unknown. Known entries expire so
/// a revoked key stops working within `ttl` on warm containers too; unknown ones
/// sooner (`unknown_ttl`), so a key minted after a miss works soon, while a
/// caller repeating a bad key costs no read.
pub struct KeyCache {
    ttl: Duration,
    unknown_ttl: Duration,
    entries: Mutex<HashMap<String, (Option<Principal>, Instant)>>,
}

impl KeyCache {
    pub fn new(ttl: Duration, unknown_ttl: Duration) -> Self {
        Self {
            ttl,
            unknown_ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(Some(principal))` for a known key, `Some(None)` for one known to be
    /// unknown, `None` when the cache cannot say.
    pub fn get(&self, key_hash: &str) -> Option<Option<Principal>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (principal, at) = entries.get(key_hash)?;
        let ttl = if principal.is_some() {
            self.ttl
        } else {
            self.unknown_ttl
        };
        (at.elapsed() < ttl).then(|| principal.clone())
    }

    pub fn put(&self, key_hash: String, principal: Option<Principal>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // A container sees few distinct keys; the bound only guards against a flood of them.
        if entries.len() >= 1024 {
            entries.clear();
        }
        entries.insert(key_hash, (principal, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_distinct_and_hash_to_hex() {
        let a = mint_secret();
        assert!(a.len() >= 4 + 43);
        assert_ne!(a, mint_secret());
        let hash = hash_secret(&a);
        assert_eq!(hash.len(), 64);
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_header_rules() {
        assert_eq!(bearer_secret(Some("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_secret(Some("bearer  abc ")).unwrap(), "abc");
        assert_eq!(bearer_secret(None).unwrap_err().status, 401);
        assert_eq!(bearer_secret(Some("Basic abc")).unwrap_err().status, 401);
        assert_eq!(bearer_secret(Some("Bearer")).unwrap_err().status, 401);
    }

    #[test]
    fn cookies_and_origins() {
        let header = Some("theme=dark; portal_session=abc123 ; other=1");
        assert_eq!(cookie(header, PORTAL_COOKIE), Some("abc123"));
        assert_eq!(cookie(Some("portal_session="), PORTAL_COOKIE), None);
        assert_eq!(cookie(Some("xportal_session=a"), PORTAL_COOKIE), None);
        assert_eq!(cookie(None, PORTAL_COOKIE), None);
        let host = Some("127.0.0.1:9000");
        assert!(same_origin(Some("http://127.0.0.1:9000"), host, None));
        assert!(same_origin(Some("http://127.0.0.1:9000"), host, Some("same-origin")));
        assert!(!same_origin(Some("http://127.0.0.1:9000"), host, Some("cross-site")));
        assert!(!same_origin(Some("http://evil.example"), host, Some("same-origin")));
        assert!(!same_origin(Some("http://127.0.0.1:9000"), None, None));
        // A form posted under `no-referrer`: its Origin is `null`, its Sec-Fetch-Site says.
        assert!(same_origin(Some("null"), host, Some("same-origin")));
        assert!(!same_origin(Some("null"), host, None));
        assert!(same_origin(None, host, Some("same-origin")));
        assert!(!same_origin(None, host, Some("same-site")));
        assert!(!same_origin(None, host, None));
    }

    #[test]
    fn principals_parse_and_print() {
        let p = Principal::parse("host:feb0dd79-85b6-483b-b297-0e49a1aa5b7d").unwrap();
        assert_eq!(p.kind, PrincipalKind::Host);
        assert_eq!(p.to_string(), "host:feb0dd79-85b6-483b-b297-0e49a1aa5b7d");
        assert!(Principal::parse("admin:x").is_none());
        assert!(Principal::parse("business:").is_none());
        assert!(Principal::parse("business:a#b").is_none());
    }

    #[test]
    fn access_admits_only_its_kinds() {
        assert!(Access::Business.admits(PrincipalKind::Business));
        assert!(!Access::Business.admits(PrincipalKind::Host));
        assert!(Access::HostOrOrganization.admits(PrincipalKind::Organization));
        assert!(!Access::Public.admits(PrincipalKind::Business));
    }

    #[test]
    fn cache_forgets_after_ttl() {
        let cache = KeyCache::new(Duration::from_millis(0), Duration::from_millis(0));
        cache.put("h".into(), Principal::parse("business:b"));
        assert!(cache.get("h").is_none());
        let cache = KeyCache::new(Duration::from_secs(60), Duration::from_secs(60));
        cache.put("h".into(), Principal::parse("business:b"));
        assert_eq!(cache.get("h").unwrap().unwrap().id, "b");
    }

    #[test]
    fn unknown_keys_are_remembered_for_less_time() {
        let cache = KeyCache::new(Duration::from_secs(60), Duration::from_millis(0));
        cache.put("bad".into(), None);
        assert_eq!(cache.get("bad"), None, "expired at once");
        let cache = KeyCache::new(Duration::from_millis(0), Duration::from_secs(60));
        cache.put("bad".into(), None);
        assert_eq!(cache.get("bad"), Some(None), "known to be unknown");
        assert_eq!(cache.get("other"), None);
    }
}
