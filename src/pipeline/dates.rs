//! Parsing of the period labels sources put on observations ("2019", "2024-01", "2023-Q4",
//! "2024-12-01", "2024-W05", "2024M01", "Jan 2024", …) into the first day of the period.
//! Pseudo-dates such as `last10YearsAvg` or `latest` parse to `None` and are ignored as evidence.

use chrono::{Datelike, NaiveDate, Weekday};

/// Earliest and latest years accepted as real dates (guards against ids read as years).
const YEARS: std::ops::RangeInclusive<i32> = 1800..=2200;

/// The first day of the period a label names, or `None` for anything that is not a date.
pub(crate) fn parse_period(label: &str) -> Option<NaiveDate> {
    let s = label.trim();
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    // Drop a time-of-day suffix: "2024-12-01T00:00:00Z", "2024-12-01 00:00:00".
    let s = s
        .split_once('T')
        .filter(|(d, _)| d.len() == 10)
        .map_or(s, |(d, _)| d);
    let s = s
        .split_once(' ')
        .filter(|(d, _)| d.len() == 10)
        .map_or(s, |(d, _)| d);
    let upper = s.to_ascii_uppercase();
    let compact: String = upper
        .chars()
        .filter(|c| !matches!(c, '-' | '/' | '.' | ' ' | '_'))
        .collect();

    year_only(&compact)
        .or_else(|| full_date(&upper))
        .or_else(|| quarter(&compact))
        .or_else(|| week(&compact))
        .or_else(|| half(&compact))
        .or_else(|| month_numeric(&upper, &compact))
        .or_else(|| month_named(s))
}

fn year(s: &str) -> Option<i32> {
    if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|y| YEARS.contains(y))
}

fn small(s: &str, max: u32) -> Option<u32> {
    if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| (1..=max).contains(n))
}

fn year_only(compact: &str) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year(compact)?, 1, 1)
}

/// "2024-12-01", "2024/12/01", "20241201".
fn full_date(upper: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = upper.split(['-', '/', '.']).collect();
    let (y, m, d) = match parts.as_slice() {
        [y, m, d] if y.len() == 4 => (year(y)?, small(m, 12)?, small(d, 31)?),
        [all] if all.len() == 8 && all.bytes().all(|b| b.is_ascii_digit()) => (
            year(&all[..4])?,
            small(&all[4..6], 12)?,
            small(&all[6..], 31)?,
        ),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y, m, d)
}

/// "2023-Q4", "2023Q4", "Q4 2023", "Q4-2023".
fn quarter(compact: &str) -> Option<NaiveDate> {
    let q_pos = compact.find('Q')?;
    // `get` rather than slicing: a label is arbitrary text and may hold multi-byte characters.
    let (y, q) = if q_pos == 4 {
        (year(compact.get(..4)?)?, compact.get(5..)?)
    } else if q_pos == 0 && compact.len() == 6 {
        (year(compact.get(2..)?)?, compact.get(1..2)?)
    } else {
        return None;
    };
    let q = small(q, 4)?;
    NaiveDate::from_ymd_opt(y, (q - 1) * 3 + 1, 1)
}

/// ISO weeks: "2024-W05", "2024W05", "2024-W05-1".
fn week(compact: &str) -> Option<NaiveDate> {
    let rest = compact.get(4..)?.strip_prefix('W')?;
    let y = year(compact.get(..4)?)?;
    let w = rest.get(..2.min(rest.len()))?;
    let w = small(w, 53)?;
    NaiveDate::from_isoywd_opt(y, w, Weekday::Mon)
}

/// Half years: "2024-H1", "2024S2".
fn half(compact: &str) -> Option<NaiveDate> {
    let y = year(compact.get(..4)?)?;
    let rest = compact.get(4..)?;
    let h = rest.strip_prefix('H').or_else(|| rest.strip_prefix('S'))?;
    let h = small(h, 2)?;
    NaiveDate::from_ymd_opt(y, if h == 1 { 1 } else { 7 }, 1)
}

/// "2024-01", "2024/1", "2024M01", "202401".
fn month_numeric(upper: &str, compact: &str) -> Option<NaiveDate> {
    if let Some((y, m)) = upper.split_once(['-', '/', '.']) {
        if let (Some(y), Some(m)) = (year(y), small(m, 12)) {
            return NaiveDate::from_ymd_opt(y, m, 1);
        }
        return None;
    }
    let y = year(compact.get(..4)?)?;
    let rest = compact.get(4..)?;
    // "2024M3" / "2024M03" carry an explicit month marker; a bare "202401" needs two digits.
    let m = match rest.strip_prefix('M') {
        Some(m) => m,
        None if rest.len() == 2 => rest,
        None => return None,
    };
    NaiveDate::from_ymd_opt(y, small(m, 12)?, 1)
}

/// "Jan 2024", "January 2024", "2024 Jan"; "Jan-24" is rejected (two-digit years are ambiguous).
fn month_named(s: &str) -> Option<NaiveDate> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = s.to_ascii_lowercase();
    let tokens: Vec<&str> = lower
        .split([' ', '-', ',', '/'])
        .filter(|t| !t.is_empty())
        .collect();
    let [a, b] = tokens.as_slice() else {
        return None;
    };
    let month_of = |t: &str| -> Option<u32> {
        let idx = MONTHS.iter().position(|m| t.starts_with(m))?;
        // Accept "jan", "january", "sept"; reject unrelated words starting with a month prefix.
        let full = [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ][idx];
        (full.starts_with(t) || t == "sept").then_some(idx as u32 + 1)
    };
    let (m, y) = match (month_of(a), year(a), month_of(b), year(b)) {
        (Some(m), _, _, Some(y)) => (m, y),
        (_, Some(y), Some(m), _) => (m, y),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y, m, 1)
}

/// Days between two dates.
pub(crate) fn days_between(a: NaiveDate, b: NaiveDate) -> i64 {
    (b - a).num_days()
}

/// The year of a date (re-exported for the sample profile).
pub(crate) fn year_of(d: NaiveDate) -> i32 {
    d.year()
}

/// The 1-based position of a date's period within its year for a cadence given in days
/// (month number for monthly data, quarter number for quarterly data, week for weekly data).
pub(crate) fn period_in_year(d: NaiveDate, gap_days: u32) -> u32 {
    match gap_days {
        0..=10 => d.iso_week().week(),
        11..=45 => d.month(),
        46..=135 => (d.month() - 1) / 3 + 1,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn parses_the_common_forms() {
        assert_eq!(parse_period("2019"), ymd(2019, 1, 1));
        assert_eq!(parse_period("2024-01"), ymd(2024, 1, 1));
        assert_eq!(parse_period("2024M03"), ymd(2024, 3, 1));
        assert_eq!(parse_period("2023-Q4"), ymd(2023, 10, 1));
        assert_eq!(parse_period("2023Q2"), ymd(2023, 4, 1));
        assert_eq!(parse_period("Q3 2022"), ymd(2022, 7, 1));
        assert_eq!(parse_period("2024-12-01"), ymd(2024, 12, 1));
        assert_eq!(parse_period("2024-12-01T00:00:00Z"), ymd(2024, 12, 1));
        assert_eq!(parse_period("2024/12/31"), ymd(2024, 12, 31));
        assert_eq!(parse_period("2024-W05"), ymd(2024, 1, 29));
        assert_eq!(parse_period("2024W01"), ymd(2024, 1, 1));
        assert_eq!(parse_period("2024-H2"), ymd(2024, 7, 1));
        assert_eq!(parse_period("Jan 2024"), ymd(2024, 1, 1));
        assert_eq!(parse_period("September 2021"), ymd(2021, 9, 1));
    }

    #[test]
    fn rejects_pseudo_dates_and_garbage() {
        for s in [
            "last10YearsAvg",
            "latest",
            "",
            "  ",
            "2024-13",
            "2024-Q5",
            "12345",
            "0001",
            "9999-01",
            "Mayday 2024",
            "2024-02-30",
            "ünïcødé",
        ] {
            assert_eq!(parse_period(s), None, "{s:?}");
        }
    }

    #[test]
    fn period_positions() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        assert_eq!(period_in_year(d, 30), 5);
        assert_eq!(period_in_year(d, 91), 2);
    }
}
