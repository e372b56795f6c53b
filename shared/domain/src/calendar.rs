//! Calendar arithmetic: the times a client sends, and the date an
//! entitlement's duration reaches from now.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum DurationInterval {
    Day,
    Week,
    Month,
    Year,
}

impl DurationInterval {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "Day",
            Self::Week => "Week",
            Self::Month => "Month",
            Self::Year => "Year",
        }
    }

    /// The most of this interval a key may last: 100 years, so every expiry is a
    /// date the service can write.
    pub fn max_count(self) -> i64 {
        match self {
            Self::Day => 36_525,
            Self::Week => 5_218,
            Self::Month => 1_200,
            Self::Year => 100,
        }
    }
}

/// RFC 3339, or a timestamp without an offset (the Dodo SDK sends naive datetimes so), taken as UTC.
pub fn parse_client_time(text: &str) -> Option<OffsetDateTime> {
    let at = crate::timestamp::parse_rfc3339(text).or_else(|| {
        let format = time::macros::format_description!(
            version = 2,
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        time::PrimitiveDateTime::parse(text, &format)
            .ok()
            .map(|at| at.assume_utc())
    })?;
    // Stored times compare as text, which holds for four-digit years, 0000 to
    // 9999: RFC 3339's own range, before 1970 too.
    (0..=9999).contains(&at.year()).then_some(at)
}

/// Now plus the entitlement's duration; months and years keep the day of month where it exists.
pub fn expiry_after(
    now: OffsetDateTime,
    count: Option<i64>,
    interval: Option<DurationInterval>,
) -> Option<OffsetDateTime> {
    let (count, interval) = (count?, interval?);
    match interval {
        // Checked before the Duration is built: its constructors panic on overflow.
        DurationInterval::Day => now.checked_add(time::Duration::seconds(count.checked_mul(86_400)?)),
        DurationInterval::Week => now.checked_add(time::Duration::seconds(count.checked_mul(604_800)?)),
        DurationInterval::Month => add_months(now, count),
        DurationInterval::Year => add_months(now, count.checked_mul(12)?),
    }
}

fn add_months(at: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let total = (at.year() as i64 * 12 + (at.month() as i64 - 1)).checked_add(months)?;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = time::Month::try_from((total.rem_euclid(12) + 1) as u8).ok()?;
    let day = at.day().min(month.length(year));
    at.replace_date(time::Date::from_calendar_date(year, month, day).ok()?)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::parse_rfc3339;

    #[test]
    fn client_times_take_every_four_digit_year() {
        let at = |text| parse_client_time(text).map(crate::timestamp::rfc3339);
        assert_eq!(at("1969-12-31T23:59:59Z").as_deref(), Some("1969-12-31T23:59:59.000Z"));
        assert_eq!(at("0001-01-01T00:00:00").as_deref(), Some("0001-01-01T00:00:00.000Z"));
        assert_eq!(at("9999-12-31T23:59:59Z").as_deref(), Some("9999-12-31T23:59:59.000Z"));
        assert!(at("0999-06-01T00:00:00Z") < at("1969-12-31T23:59:59Z"));
        assert_eq!(at("-0001-01-01T00:00:00"), None);
    }

    #[test]
    fn an_expiry_past_what_a_date_holds_is_none_not_a_panic() {
        let now = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        for interval in [
            DurationInterval::Day,
            DurationInterval::Week,
            DurationInterval::Month,
            DurationInterval::Year,
        ] {
            assert_eq!(expiry_after(now, Some(i64::MAX), Some(interval)), None);
            assert_eq!(expiry_after(now, Some(200_000_000_000_000), Some(interval)), None);
            assert!(expiry_after(now, Some(interval.max_count()), Some(interval)).is_some());
        }
    }
}
