//! License key values: the form a generated key takes, and how hard to guess
//! a supplied one must be (a generated key always is).

use crate::refusal::{Refusal, RuleResult};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_grouped_and_distinct() {
        let key = format_license_key(rand::random());
        assert_eq!(key.len(), 32 + 3);
        assert_eq!(key.split('-').count(), 4);
        assert_ne!(key, format_license_key(rand::random()));
    }

    #[test]
    fn supplied_keys_must_be_hard_to_guess() {
        assert!(check_key_strength("K").is_err());
        assert!(check_key_strength("AAAAAAAAAAAAAAAAAAAAAAAA").is_err());
        assert!(check_key_strength("ACME-PRO-0001").is_err());
        assert!(check_key_strength("ACME-PRO-0001-XYZ").is_ok());
        assert!(check_key_strength(&format_license_key(rand::random())).is_ok());
        assert_eq!(
            check_key_strength("short").unwrap_err().message.split(':').next(),
            Some("key")
        );
    }
}
