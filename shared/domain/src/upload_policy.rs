//! A browser-style S3 upload (HTTP POST with a signed policy, Signature
//! Version 4): the form fields that let a client put exactly one object of
//! exactly its declared size and type under one key, until the policy expires.
//! Pure: the caller supplies the credentials and the time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The credentials that sign, as the function's role has them.
pub struct Signer<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
}

/// What is to be uploaded.
pub struct Upload<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub size: u64,
    pub content_type: &'a str,
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The form fields of `upload` signed by `signer` at `now`, valid `seconds`.
pub fn form_fields(upload: &Upload, signer: &Signer, now: OffsetDateTime, seconds: i64) -> BTreeMap<String, String> {
    let date = format!("{:04}{:02}{:02}", now.year(), u8::from(now.month()), now.day());
    let stamp = format!("{date}T{:02}{:02}{:02}Z", now.hour(), now.minute(), now.second());
    let credential = format!("{}/{date}/{}/s3/aws4_request", signer.access_key_id, signer.region);
    let expiration = crate::timestamp::rfc3339(now + time::Duration::seconds(seconds));
    let mut fields = BTreeMap::from([
        ("key".to_string(), upload.key.to_string()),
        ("Content-Type".to_string(), upload.content_type.to_string()),
        ("x-amz-algorithm".to_string(), "AWS4-HMAC-SHA256".to_string()),
        ("x-amz-credential".to_string(), credential),
        ("x-amz-date".to_string(), stamp),
    ]);
    if let Some(token) = signer.session_token {
        fields.insert("x-amz-security-token".into(), token.to_string());
    }
    let mut conditions = vec![
        json!({"bucket": upload.bucket}),
        json!(["content-length-range", upload.size, upload.size]),
    ];
    conditions.extend(fields.iter().map(|(name, value)| json!({ name: value })));
    let policy = STANDARD.encode(json!({"expiration": expiration, "conditions": conditions}).to_string());
    let key = [date.as_str(), signer.region, "s3", "aws4_request"]
        .iter()
        .fold(format!("AWS4{}", signer.secret_access_key).into_bytes(), |key, part| {
            hmac(&key, part.as_bytes())
        });
    fields.insert("x-amz-signature".into(), hex(&hmac(&key, policy.as_bytes())));
    fields.insert("policy".into(), policy);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn fields(token: Option<&str>) -> BTreeMap<String, String> {
        let signer = Signer {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            session_token: token,
            region: "us-east-1",
        };
        let upload = Upload {
            bucket: "files",
            key: "uploads/b/e/f",
            size: 42,
            content_type: "application/zip",
        };
        form_fields(&upload, &signer, datetime!(2026-12-06 10:20:30 UTC), 900)
    }

    #[test]
    fn the_policy_pins_the_key_size_type_and_expiry() {
        let fields = fields(None);
        assert_eq!(
            fields["x-amz-credential"],
            "AKIDEXAMPLE/20261206/us-east-1/s3/aws4_request"
        );
        assert_eq!(fields["x-amz-date"], "20261206T102030Z");
        let policy: serde_json::Value = serde_json::from_slice(&STANDARD.decode(&fields["policy"]).unwrap()).unwrap();
        assert_eq!(policy["expiration"], "2026-12-06T10:35:30.000Z");
        let conditions = policy["conditions"].as_array().unwrap();
        assert!(conditions.contains(&json!(["content-length-range", 42, 42])));
        assert!(conditions.contains(&json!({"key": "uploads/b/e/f"})));
        assert!(conditions.contains(&json!({"Content-Type": "application/zip"})));
        assert!(conditions.contains(&json!({"bucket": "files"})));
        assert!(!fields.contains_key("x-amz-security-token"));
        assert_eq!(fields["x-amz-signature"].len(), 64);
    }

    #[test]
    fn a_session_token_is_a_field_and_a_condition_and_changes_the_signature() {
        let with = fields(Some("token-1"));
        assert_eq!(with["x-amz-security-token"], "token-1");
        assert_ne!(with["x-amz-signature"], fields(None)["x-amz-signature"]);
        let policy = String::from_utf8(STANDARD.decode(&with["policy"]).unwrap()).unwrap();
        assert!(policy.contains(r#"{"x-amz-security-token":"token-1"}"#));
    }
}
