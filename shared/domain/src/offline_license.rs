//! Offline licenses: what a license says (its claims) and its form, a JWS in
//! compact serialization signed with Ed25519, as any JOSE library verifies it
//! with a key from the JWK Set. Signing itself happens elsewhere (KMS).

use crate::entitlement::DEFAULT_OFFLINE_TTL_SECONDS;
use crate::license_key::{Instance, LicenseKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Claims {
    pub iss: String,
    /// The license key's id.
    pub sub: String,
    /// The product (entitlement) id.
    pub aud: String,
    /// The instance (activation) id.
    pub lki: String,
    /// The device's fingerprint, when it named one.
    pub fpr: Option<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub limit: Option<i64>,
    /// The entitlement's name.
    pub ent: Option<String>,
    /// The features the key unlocks.
    pub features: Vec<String>,
}

impl Claims {
    pub fn expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.exp).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// The `iss` of a license: `configured` (the template's `OfflineLicenseIssuer`)
/// unless empty, else the origin the request came to (`Request::origin`:
/// `https://` and API Gateway's `requestContext.domainName`, the custom domain
/// when one is used and the execute-api host otherwise), which serves the JWK
/// Set too. The template cannot pass the API's own URL: the API's routes depend
/// on this function, so the function depending on the API is a cycle
/// CloudFormation refuses.
pub fn issuer(configured: &str, origin: Option<&str>) -> Option<String> {
    if !configured.is_empty() {
        return Some(configured.to_string());
    }
    origin.map(str::to_string)
}

/// The claims of a license for `instance` of `key` issued at `now`: it ends at
/// the earliest of the key's expiry, the instance's lease and the offline TTL.
pub fn claims(
    key: &LicenseKey,
    instance: &Instance,
    features: Vec<String>,
    issuer: &str,
    now: OffsetDateTime,
) -> Claims {
    let iat = now.unix_timestamp();
    let ttl = key.offline_ttl_seconds.unwrap_or(DEFAULT_OFFLINE_TTL_SECONDS);
    let ends = [key.expires_at.as_deref(), instance.expires_at.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(crate::timestamp::parse_rfc3339)
        .map(|end| end.unix_timestamp());
    let exp = ends.fold(iat.saturating_add(ttl), i64::min);
    Claims {
        iss: issuer.to_string(),
        sub: key.id.clone(),
        aud: key.product_id.clone(),
        lki: instance.id.clone(),
        fpr: instance.fingerprint.clone(),
        iat,
        nbf: iat,
        exp,
        limit: key.activations_limit,
        ent: key.product_name.clone(),
        features,
    }
}

/// `<header>.<payload>`, base64url each: the bytes the signature covers.
pub fn signing_input(kid: &str, claims: &Claims) -> String {
    let header = json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid });
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

/// The compact JWS: the signing input and its signature.
pub fn compact(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// DER of an Ed25519 SubjectPublicKeyInfo up to the key itself (RFC 8410).
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub enum Kty {
    #[serde(rename = "OKP")]
    Okp,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub enum Curve {
    Ed25519,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub enum Algorithm {
    EdDSA,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub enum KeyUse {
    #[serde(rename = "sig")]
    Signature,
}

/// An Ed25519 public key as a JWK (RFC 8037).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    #[schema(inline)]
    pub kty: Kty,
    #[schema(inline)]
    pub crv: Curve,
    /// The 32-byte public key, base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub x: String,
    /// The signing key's id, as the `kid` header of the licenses it signs.
    pub kid: String,
    #[schema(inline)]
    pub alg: Algorithm,
    #[serde(rename = "use")]
    #[schema(inline)]
    pub key_use: KeyUse,
}

/// The JWK Set the offline licenses are verified with.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Jwks)]
pub struct JwkSet<'a> {
    pub keys: &'a [Jwk],
}

/// The JWK of an Ed25519 public key given as DER SubjectPublicKeyInfo, as KMS
/// returns it; `None` for any other key.
pub fn jwk(kid: &str, spki_der: &[u8]) -> Option<Jwk> {
    let raw = spki_der.strip_prefix(&ED25519_SPKI_PREFIX[..])?;
    (raw.len() == 32).then(|| Jwk {
        kty: Kty::Okp,
        crv: Curve::Ed25519,
        x: URL_SAFE_NO_PAD.encode(raw),
        kid: kid.to_string(),
        alg: Algorithm::EdDSA,
        key_use: KeyUse::Signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::parse_rfc3339;
    use serde_json::Value;

    fn key_and_instance(key_expiry: Option<&str>, lease_end: Option<&str>, ttl: Option<i64>) -> (LicenseKey, Instance) {
        let mut key: LicenseKey = serde_json::from_value(json!({
            "id": "lk_1", "business_id": "bus_1", "brand_id": "bus_1", "customer_id": "cus_1",
            "key": "K", "product_id": "ent_1", "entitlement_id": "ent_1", "grant_id": null,
            "source": "import", "activations_limit": 3, "expires_at": key_expiry, "disabled": false,
            "instances_count": 1, "created_at": "t", "payment_id": null, "subscription_id": null,
            "product_name": "Pro",
        }))
        .unwrap();
        key.offline_ttl_seconds = ttl;
        let instance: Instance = serde_json::from_value(json!({
            "id": "lki_1", "business_id": "bus_1", "license_key_id": "lk_1", "name": "laptop",
            "created_at": "t", "fingerprint": "fp", "expires_at": lease_end,
        }))
        .unwrap();
        (key, instance)
    }

    #[test]
    fn the_issuer_is_the_configured_one_else_the_origin_of_the_request() {
        let configured = "https://licenses.example.com";
        assert_eq!(
            issuer(configured, Some("https://api.example.com")).as_deref(),
            Some(configured)
        );
        let origin = issuer("", Some("https://api.example.com"));
        assert_eq!(origin.as_deref(), Some("https://api.example.com"));
        assert_eq!(issuer("", None), None);
    }

    #[test]
    fn a_license_ends_at_the_earliest_of_key_lease_and_ttl() {
        let now = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        let t = now.unix_timestamp();
        let (key, instance) = key_and_instance(None, None, None);
        let c = claims(&key, &instance, vec![], "licensing", now);
        assert_eq!((c.iat, c.nbf, c.exp), (t, t, t + 604_800));
        assert_eq!(
            (c.sub.as_str(), c.aud.as_str(), c.lki.as_str()),
            ("lk_1", "ent_1", "lki_1")
        );
        assert_eq!(
            (c.fpr.as_deref(), c.limit, c.ent.as_deref()),
            (Some("fp"), Some(3), Some("Pro"))
        );
        let (key, instance) = key_and_instance(Some("2026-06-01T00:30:00.500Z"), None, Some(3600));
        assert_eq!(claims(&key, &instance, vec![], "i", now).exp, t + 1800);
        let (key, instance) = key_and_instance(Some("2026-06-03T00:00:00Z"), Some("2026-06-01T00:02:00Z"), Some(3600));
        assert_eq!(claims(&key, &instance, vec![], "i", now).exp, t + 120);
        let (key, instance) = key_and_instance(Some("2026-06-03T00:00:00Z"), None, Some(3600));
        assert_eq!(claims(&key, &instance, vec![], "i", now).exp, t + 3600);
    }

    #[test]
    fn the_compact_form_is_header_payload_signature_in_base64url() {
        let now = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        let (key, instance) = key_and_instance(None, None, None);
        let input = signing_input("kid-1", &claims(&key, &instance, vec![], "licensing", now));
        let token = compact(&input, &[0xfb; 64]);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "EdDSA", "typ": "JWT", "kid": "kid-1"}));
        let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(payload["sub"], "lk_1");
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap(), vec![0xfb; 64]);
        assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'));
    }

    #[test]
    fn a_jwk_is_made_only_from_an_ed25519_public_key() {
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend([7u8; 32]);
        let jwk = serde_json::to_value(jwk("k1", &der).unwrap()).unwrap();
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap(),
            vec![7u8; 32]
        );
        assert_eq!(jwk["kid"], "k1");
        assert_eq!((&jwk["alg"], &jwk["use"]), (&json!("EdDSA"), &json!("sig")));
        assert!(super::jwk("k1", &der[..40]).is_none());
        der[8] = 0x71;
        assert!(super::jwk("k1", &der).is_none());
    }
}
