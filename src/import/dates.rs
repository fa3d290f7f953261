//! Sample dates as real sources write them.
//!
//! Accepted: `YYYY`, `YYYY-MM`, `YYYY-MM-DD` (optionally with a time, `T`/space separated, with
//! or without zone), `YYYY-Qn`/`YYYYQn`, `YYYY-Sn`/`YYYY-Hn` (half years), `YYYY-Wnn`/`YYYYWnn`
//! (ISO weeks) and `YYYYMnn` (IMF/World Bank months). Known pseudo-dates such as
//! `last10YearsAvg` are summaries, not periods: they are accepted and kept as written, and the
//! import reports them as harmless.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Years accepted in dates (anything else is a typo or a sentinel).
const YEARS: std::ops::RangeInclusive<i32> = 1000..=2999;

/// A parsed sample date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleDate {
    /// `2024`.
    Year(i32),
    /// `2024-S1`, `2024-H2`.
    HalfYear(i32, u8),
    /// `2024-Q1`, `2024Q1`.
    Quarter(i32, u8),
    /// `2024-01`, `2024M01`.
    Month(i32, u8),
    /// `2024-W05`: ISO week.
    Week(i32, u8),
    /// `2024-01-31`, also with a time of day (kept as the date).
    Day(NaiveDate),
    /// A summary label such as `last10YearsAvg`, not a period.
    Pseudo,
}

impl SampleDate {
    /// The first day of the period (`None` for pseudo-dates and impossible ISO weeks).
    pub fn start(&self) -> Option<NaiveDate> {
        match *self {
            SampleDate::Year(y) => NaiveDate::from_ymd_opt(y, 1, 1),
            SampleDate::HalfYear(y, h) => NaiveDate::from_ymd_opt(y, u32::from(h) * 6 - 5, 1),
            SampleDate::Quarter(y, q) => NaiveDate::from_ymd_opt(y, u32::from(q) * 3 - 2, 1),
            SampleDate::Month(y, m) => NaiveDate::from_ymd_opt(y, u32::from(m), 1),
            SampleDate::Week(y, w) => {
                NaiveDate::from_isoywd_opt(y, u32::from(w), chrono::Weekday::Mon)
            }
            SampleDate::Day(d) => Some(d),
            SampleDate::Pseudo => None,
        }
    }
}

/// Whether `s` is a known pseudo-date: `last<N><Years|Quarters|Months|Weeks|Days>Avg`.
pub fn is_pseudo_date(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("last") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    matches!(
        &rest[digits..],
        "YearsAvg" | "QuartersAvg" | "MonthsAvg" | "WeeksAvg" | "DaysAvg"
    )
}

/// Parses a sample date; `None` when it is in none of the accepted forms or names an impossible
/// period (month 13, 30 February, week 54…).
pub fn parse(s: &str) -> Option<SampleDate> {
    if is_pseudo_date(s) {
        return Some(SampleDate::Pseudo);
    }
    let b = s.as_bytes();
    if b.len() < 4 || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year: i32 = s[..4].parse().ok()?;
    if !YEARS.contains(&year) {
        return None;
    }
    let rest = &s[4..];
    if rest.is_empty() {
        return Some(SampleDate::Year(year));
    }
    let number = |t: &str, max: u8, width: std::ops::RangeInclusive<usize>| -> Option<u8> {
        if !width.contains(&t.len()) || !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let n: u8 = t.parse().ok()?;
        (1..=max).contains(&n).then_some(n)
    };
    let tagged = rest.strip_prefix('-').unwrap_or(rest);
    if let Some(q) = tagged.strip_prefix('Q') {
        return number(q, 4, 1..=1).map(|q| SampleDate::Quarter(year, q));
    }
    if let Some(h) = tagged
        .strip_prefix('S')
        .or_else(|| tagged.strip_prefix('H'))
    {
        return number(h, 2, 1..=1).map(|h| SampleDate::HalfYear(year, h));
    }
    if let Some(w) = tagged.strip_prefix('W') {
        let w = number(w, 53, 2..=2)?;
        NaiveDate::from_isoywd_opt(year, u32::from(w), chrono::Weekday::Mon)?;
        return Some(SampleDate::Week(year, w));
    }
    if let Some(m) = rest.strip_prefix('M') {
        return number(m, 12, 1..=2).map(|m| SampleDate::Month(year, m));
    }
    let rest = rest.strip_prefix('-')?;
    if rest.len() == 2 {
        return number(rest, 12, 2..=2).map(|m| SampleDate::Month(year, m));
    }
    if s.len() == 10 {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .map(SampleDate::Day);
    }
    parse_datetime(s).map(SampleDate::Day)
}

/// `2024-01-31T00:00:00`, `2024-01-31 00:00`, `2024-01-31T00:00:00Z`, `…+02:00`.
fn parse_datetime(s: &str) -> Option<NaiveDate> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.date_naive());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt.date());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> SampleDate {
        SampleDate::Day(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn accepts_the_forms_real_sources_use() {
        let cases = [
            ("2024", SampleDate::Year(2024)),
            ("2024-01", SampleDate::Month(2024, 1)),
            ("2024-12-31", day(2024, 12, 31)),
            ("2024-02-29", day(2024, 2, 29)),
            ("2024-Q1", SampleDate::Quarter(2024, 1)),
            ("2023Q4", SampleDate::Quarter(2023, 4)),
            ("2024-W05", SampleDate::Week(2024, 5)),
            ("2020W53", SampleDate::Week(2020, 53)),
            ("2024M01", SampleDate::Month(2024, 1)),
            ("2024M7", SampleDate::Month(2024, 7)),
            ("2024-S2", SampleDate::HalfYear(2024, 2)),
            ("2024H1", SampleDate::HalfYear(2024, 1)),
            ("2024-03-31T00:00:00", day(2024, 3, 31)),
            ("2024-03-31 00:00", day(2024, 3, 31)),
            ("2024-03-31T23:59:59Z", day(2024, 3, 31)),
            ("2024-03-31T10:00:00+02:00", day(2024, 3, 31)),
            ("last10YearsAvg", SampleDate::Pseudo),
            ("last5YearsAvg", SampleDate::Pseudo),
            ("last12MonthsAvg", SampleDate::Pseudo),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Some(want), "{text}");
        }
    }

    #[test]
    fn rejects_impossible_or_unknown_forms() {
        for bad in [
            "",
            "24",
            "202",
            "20245",
            "2024-13",
            "2024-00",
            "2023-02-29",
            "2024-Q5",
            "2024-Q0",
            "2024-W54",
            "2021-W53",
            "2024M13",
            "2024M",
            "2024-1",
            "01/02/2024",
            "Jan 2024",
            "0999",
            "3000",
            "2024-01-01T25:00:00",
            "lastYearsAvg",
            "last10Years",
            "NaN",
            "2024-",
            "2024-Q",
            "2024-W5",
        ] {
            assert_eq!(parse(bad), None, "{bad:?} should be rejected");
        }
    }

    #[test]
    fn period_starts() {
        assert_eq!(
            parse("2024-Q3").unwrap().start(),
            NaiveDate::from_ymd_opt(2024, 7, 1)
        );
        assert_eq!(
            parse("2024-W01").unwrap().start(),
            NaiveDate::from_ymd_opt(2024, 1, 1)
        );
        assert_eq!(parse("last10YearsAvg").unwrap().start(), None);
    }
}
