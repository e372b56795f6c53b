//! Wall-clock time in the forms the API families use.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub fn now_millis() -> u64 {
    (now().unix_timestamp_nanos() / 1_000_000) as u64
}

/// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-23T11:33:42.123Z`.
pub fn rfc3339(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let at = at.replace_nanosecond(at.millisecond() as u32 * 1_000_000).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

pub fn now_rfc3339() -> String {
    rfc3339(now())
}

pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        let at = parse_rfc3339("2026-01-02T03:04:05.678912+02:00").unwrap();
        assert_eq!(rfc3339(at), "2026-01-02T01:04:05.678Z");
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert!(parse_rfc3339("2026-01-02").is_none());
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
