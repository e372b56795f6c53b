//! Wall-clock time, read here and passed to the rules as a value.

use time::OffsetDateTime;

pub use crate::domain::timestamp::{parse_rfc3339, rfc3339};

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub fn now_millis() -> u64 {
    (now().unix_timestamp_nanos() / 1_000_000) as u64
}

pub fn now_rfc3339() -> String {
    rfc3339(now())
}
