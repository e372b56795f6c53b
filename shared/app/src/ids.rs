//! Identifiers: a prefix and a ULID, so ids are unguessable (80 random bits)
//! and sort by creation time, which gives "newest first" from a key range.

use rand::RngCore;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new id such as `ent_01JD8Q3Z5X...`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid(crate::clock::now_millis()))
}

/// `n` new ids that sort in the order returned: for events written together.
pub fn new_ordered_ids(prefix: &str, n: usize) -> Vec<String> {
    let millis = crate::clock::now_millis();
    let mut ids: Vec<String> = (0..n).map(|_| format!("{prefix}_{}", ulid(millis))).collect();
    ids.sort();
    ids
}

fn ulid(millis: u64) -> String {
    let mut random = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let mut value: u128 = (millis as u128 & 0xFFFF_FFFF_FFFF) << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= (*byte as u128) << (72 - 8 * i);
    }
    (0..26)
        .map(|i| CROCKFORD[((value >> (125 - 5 * i)) & 0x1F) as usize] as char)
        .collect()
}

/// True when `id` is `prefix_` followed by a well-formed ULID.
pub fn is_valid(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|ulid| ulid.len() == 26 && ulid.bytes().all(|b| CROCKFORD.contains(&b)))
}

/// `n` random bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_valid_and_distinct() {
        let a = new_id("ent");
        let b = new_id("ent");
        assert!(is_valid("ent", &a), "{a}");
        assert_ne!(a, b);
        assert!(!is_valid("entg", &a));
        assert!(!is_valid("ent", "ent_short"));
    }

    #[test]
    fn ordered_ids_sort_as_given() {
        let ids = new_ordered_ids("evt", 5);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert!(ids.iter().all(|id| is_valid("evt", id)));
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        assert!(ulid(1_700_000_000_000) < ulid(1_700_000_000_001));
        assert!(ulid(1_700_000_000_000).starts_with("01HF"));
    }
}
