//! The RFC 3339 form every family writes times in, and its parsing: pure, so
//! rules can compare and shift times they are given (they never read the clock).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-23T11:33:42.123Z`;
/// always the same width, so these strings sort as the times they name.
pub fn rfc3339(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
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
        assert_eq!(
            rfc3339(parse_rfc3339("2026-01-02T03:04:05Z").unwrap()),
            "2026-01-02T03:04:05.000Z"
        );
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert!(parse_rfc3339("2026-01-02").is_none());
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
