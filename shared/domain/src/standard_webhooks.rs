//! Inbound Standard Webhooks: whether a delivery a payment provider sent is
//! signed with a secret the seller gave us and recent enough to act on
//! (SPEC §1.6). The signature is the one `webhook::signature` writes for our
//! own deliveries: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.

use crate::webhook::signed_content;
use base64::Engine;
use hmac::Mac;

/// How far `webhook-timestamp` may be from now, either way, in seconds: an
/// older delivery may be a replay, a later one a clock that cannot be trusted.
pub const TOLERANCE_S: i64 = 300;

/// Why a delivery is refused: each is the inbound route's 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unverified {
    /// This header is absent or empty.
    Missing(&'static str),
    /// `webhook-timestamp` is not Unix seconds (digits only).
    MalformedTimestamp,
    /// `webhook-timestamp` is more than `TOLERANCE_S` away from now.
    OutsideTolerance,
    /// No `v1` signature of `webhook-signature` is one of the secrets'.
    NoMatch,
}

impl std::fmt::Display for Unverified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unverified::Missing(header) => write!(f, "no {header} header"),
            Unverified::MalformedTimestamp => f.write_str("webhook-timestamp is not Unix seconds"),
            Unverified::OutsideTolerance => write!(f, "webhook-timestamp is more than {TOLERANCE_S} s from now"),
            Unverified::NoMatch => f.write_str("no signature matches"),
        }
    }
}

/// Verifies one delivery: `id`, `timestamp` and `signatures` are its
/// `webhook-id`, `webhook-timestamp` and `webhook-signature` headers as
/// received, `body` its raw bytes, `secrets` those that verify at `now_s`
/// (`payment_provider::Connection::secrets_at`). The signature header may
/// carry several space-separated `<version>,<base64>` entries: any `v1` entry
/// made with any of the secrets verifies, other versions are ignored. Each
/// comparison takes the same time whatever the bytes (`Mac::verify_slice`).
pub fn verify(
    secrets: &[&str],
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now_s: i64,
) -> Result<(), Unverified> {
    let id = present(id, "webhook-id")?;
    let timestamp = present(timestamp, "webhook-timestamp")?;
    let signatures = present(signatures, "webhook-signature")?;
    // Digits only: `+1614265330` parses as a number, but it is not what was signed as the time.
    if !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Unverified::MalformedTimestamp);
    }
    let sent_s: i64 = timestamp.parse().map_err(|_| Unverified::MalformedTimestamp)?;
    if now_s.abs_diff(sent_s) > TOLERANCE_S.unsigned_abs() {
        return Err(Unverified::OutsideTolerance);
    }
    let offered: Vec<Vec<u8>> = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded).ok())
        .collect();
    let matches = secrets.iter().any(|secret| {
        let expected = signed_content(secret, id, timestamp, body);
        offered
            .iter()
            .any(|signature| expected.clone().verify_slice(signature).is_ok())
    });
    matches.then_some(()).ok_or(Unverified::NoMatch)
}

fn present<'a>(value: Option<&'a str>, header: &'static str) -> Result<&'a str, Unverified> {
    value.filter(|v| !v.is_empty()).ok_or(Unverified::Missing(header))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::signature;

    // The example of the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SENT: i64 = 1614265330;
    const BODY: &str = r#"{"test": 2432232314}"#;
    const SIGNED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn check(secrets: &[&str], signatures: &str, body: &str, now_s: i64) -> Result<(), Unverified> {
        verify(
            secrets,
            Some(ID),
            Some(&SENT.to_string()),
            Some(signatures),
            body.as_bytes(),
            now_s,
        )
    }

    #[test]
    fn the_specifications_example_verifies() {
        assert_eq!(check(&[SECRET], SIGNED, BODY, SENT), Ok(()));
    }

    #[test]
    fn any_v1_signature_of_several_verifies_and_other_versions_are_ignored() {
        let other = signature("whsec_dGhlIG90aGVyIHNlY3JldCwgMjQgYnl0ZXM=", ID, SENT, BODY);
        let v1a = SIGNED.replace("v1,", "v1a,");
        let header = format!("v1,bm90IGl0 {other} {v1a} v1,!!not-base64 {SIGNED}");
        assert_eq!(check(&[SECRET], &header, BODY, SENT), Ok(()));
        // The right bytes under another version are no v1 signature.
        assert_eq!(
            check(&[SECRET], &format!("{other} {v1a}"), BODY, SENT),
            Err(Unverified::NoMatch)
        );
        // A secret that made none of them does not verify; any of several secrets does.
        let another = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(check(&[another], &header, BODY, SENT), Err(Unverified::NoMatch));
        assert_eq!(check(&[another, SECRET], SIGNED, BODY, SENT), Ok(()));
    }

    #[test]
    fn a_tampered_body_id_or_signature_does_not_verify() {
        assert_eq!(
            check(&[SECRET], SIGNED, r#"{"test": 2432232315}"#, SENT),
            Err(Unverified::NoMatch)
        );
        let other_id = verify(
            &[SECRET],
            Some("msg_other"),
            Some("1614265330"),
            Some(SIGNED),
            BODY.as_bytes(),
            SENT,
        );
        assert_eq!(other_id, Err(Unverified::NoMatch));
        let truncated = &SIGNED[..SIGNED.len() - 8];
        assert_eq!(check(&[SECRET], truncated, BODY, SENT), Err(Unverified::NoMatch));
        assert_eq!(check(&[], SIGNED, BODY, SENT), Err(Unverified::NoMatch));
    }

    #[test]
    fn five_minutes_either_way_and_not_a_second_more() {
        for now in [SENT + 300, SENT - 300, SENT + 1, SENT - 1] {
            assert_eq!(check(&[SECRET], SIGNED, BODY, now), Ok(()), "{now}");
        }
        for now in [SENT + 301, SENT - 301, 0, i64::MAX, i64::MIN] {
            assert_eq!(
                check(&[SECRET], SIGNED, BODY, now),
                Err(Unverified::OutsideTolerance),
                "{now}"
            );
        }
    }

    #[test]
    fn a_missing_or_malformed_header_is_refused() {
        let body = BODY.as_bytes();
        let ts = Some("1614265330");
        assert_eq!(
            verify(&[SECRET], None, ts, Some(SIGNED), body, SENT),
            Err(Unverified::Missing("webhook-id"))
        );
        assert_eq!(
            verify(&[SECRET], Some(ID), None, Some(SIGNED), body, SENT),
            Err(Unverified::Missing("webhook-timestamp"))
        );
        assert_eq!(
            verify(&[SECRET], Some(ID), ts, Some(""), body, SENT),
            Err(Unverified::Missing("webhook-signature"))
        );
        for bad in [
            "+1614265330",
            "1614265330.0",
            " 1614265330",
            "1e9",
            "99999999999999999999",
        ] {
            assert_eq!(
                verify(&[SECRET], Some(ID), Some(bad), Some(SIGNED), body, SENT),
                Err(Unverified::MalformedTimestamp),
                "{bad}"
            );
        }
        assert_eq!(
            check(&[SECRET], "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", BODY, SENT),
            Err(Unverified::NoMatch)
        );
    }

    #[test]
    fn the_body_is_taken_as_bytes() {
        let body = [0xff_u8, b'{', b'}'];
        let digest = signed_content(SECRET, ID, "1614265330", &body).finalize().into_bytes();
        let header = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(digest));
        assert_eq!(
            verify(&[SECRET], Some(ID), Some("1614265330"), Some(&header), &body, SENT),
            Ok(())
        );
    }
}
