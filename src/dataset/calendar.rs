//! Periods and their labels: which dates a series of a given frequency covers, and how each
//! publisher style writes them.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::Deserialize;

/// Reporting frequency of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    /// Business days.
    Daily,
    /// ISO weeks.
    Weekly,
    /// Calendar months.
    Monthly,
    /// Calendar quarters.
    Quarterly,
    /// Calendar years.
    Yearly,
}

impl Frequency {
    /// Periods per year.
    pub(crate) fn per_year(self) -> f64 {
        match self {
            Frequency::Daily => 260.0,
            Frequency::Weekly => 52.0,
            Frequency::Monthly => 12.0,
            Frequency::Quarterly => 4.0,
            Frequency::Yearly => 1.0,
        }
    }

    /// The periodicity word a publisher style uses.
    pub(crate) fn word(self, style: Style) -> &'static str {
        match (style, self) {
            (Style::Wb, Frequency::Yearly) => "annual",
            (Style::Imf, Frequency::Yearly) => "Annual",
            (_, Frequency::Daily) => "Daily",
            (_, Frequency::Weekly) => "Weekly",
            (_, Frequency::Monthly) => "Monthly",
            (_, Frequency::Quarterly) => "Quarterly",
            (_, Frequency::Yearly) => "Yearly",
        }
    }
}

/// Publisher conventions for dates, periodicity words and order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    /// TradingEconomics-like: end-of-period dates (sometimes with a time), ascending.
    #[default]
    Te,
    /// IMF-like (WEO, IFS, DOTS): `2024`, `2024Q1`, `2024M01`, ascending.
    Imf,
    /// World Bank-like: `2024`, newest first.
    Wb,
}

/// How a period is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateFormat {
    /// `2024`.
    Year,
    /// `2024-03`.
    YearMonth,
    /// The period's last day, `2024-03-31` (weeks: their Friday).
    EndDate,
    /// The same with a time, `2024-03-31T00:00:00`.
    EndDateTime,
    /// `2024-Q1`.
    QuarterDash,
    /// `2024Q1`.
    QuarterCompact,
    /// `2024M03`.
    ImfMonth,
    /// `2024-W05`.
    IsoWeek,
}

impl DateFormat {
    /// The formats a style uses for a frequency, with relative weights.
    pub(crate) fn choices(style: Style, freq: Frequency) -> &'static [(DateFormat, f64)] {
        use DateFormat::*;
        match (style, freq) {
            (Style::Imf | Style::Wb, Frequency::Yearly) => &[(Year, 1.0)],
            (Style::Imf, Frequency::Quarterly) => &[(QuarterCompact, 0.5), (QuarterDash, 0.5)],
            (Style::Imf, Frequency::Monthly) => &[(ImfMonth, 0.5), (YearMonth, 0.5)],
            (_, Frequency::Yearly) => &[(EndDate, 0.5), (Year, 0.5)],
            (_, Frequency::Quarterly) => &[(EndDate, 0.5), (QuarterDash, 0.3), (EndDateTime, 0.2)],
            (_, Frequency::Monthly) => &[(EndDate, 0.4), (YearMonth, 0.4), (EndDateTime, 0.2)],
            (_, Frequency::Weekly) => &[(EndDate, 0.7), (IsoWeek, 0.3)],
            (_, Frequency::Daily) => &[(EndDate, 1.0)],
        }
    }
}

/// One period of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Period {
    /// First day (for daily series, the day).
    pub start: NaiveDate,
    /// Its frequency.
    pub freq: Frequency,
}

/// The date the bundled dataset is generated "as of": fixed so that output never depends on
/// today's date.
pub(crate) fn as_of() -> NaiveDate {
    // A valid constant date.
    NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default()
}

fn months_back(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(n)).unwrap_or(d)
}

fn days_back(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_sub_days(Days::new(n)).unwrap_or(d)
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

impl Period {
    /// The latest period a publisher would have out on [`as_of`], `lag` periods back.
    pub(crate) fn latest(freq: Frequency, lag: u32) -> Self {
        let today = as_of();
        let start = match freq {
            Frequency::Yearly => {
                NaiveDate::from_ymd_opt(today.year() - 1 - lag as i32, 1, 1).unwrap_or(today)
            }
            Frequency::Quarterly => {
                // The quarter before the current one.
                let q0 = NaiveDate::from_ymd_opt(today.year(), (today.month0() / 3) * 3 + 1, 1)
                    .unwrap_or(today);
                months_back(q0, 3 * (lag + 1))
            }
            Frequency::Monthly => {
                let m0 = today.with_day(1).unwrap_or(today);
                months_back(m0, lag + 1)
            }
            Frequency::Weekly => {
                let monday = days_back(today, u64::from(today.weekday().num_days_from_monday()));
                days_back(monday, 7 * u64::from(lag + 1))
            }
            Frequency::Daily => {
                let mut d = days_back(today, 1);
                let mut left = lag;
                loop {
                    if !is_weekend(d) {
                        if left == 0 {
                            break;
                        }
                        left -= 1;
                    }
                    d = days_back(d, 1);
                }
                d
            }
        };
        Self { start, freq }
    }

    /// The period before this one.
    pub(crate) fn prev(self) -> Self {
        let start = match self.freq {
            Frequency::Yearly => months_back(self.start, 12),
            Frequency::Quarterly => months_back(self.start, 3),
            Frequency::Monthly => months_back(self.start, 1),
            Frequency::Weekly => days_back(self.start, 7),
            Frequency::Daily => {
                let mut d = days_back(self.start, 1);
                while is_weekend(d) {
                    d = days_back(d, 1);
                }
                d
            }
        };
        Self {
            start,
            freq: self.freq,
        }
    }

    /// The last day of the period (weeks end on Sunday; a day ends on itself).
    pub(crate) fn end(self) -> NaiveDate {
        let next = match self.freq {
            Frequency::Yearly => self.start.checked_add_months(Months::new(12)),
            Frequency::Quarterly => self.start.checked_add_months(Months::new(3)),
            Frequency::Monthly => self.start.checked_add_months(Months::new(1)),
            Frequency::Weekly => self.start.checked_add_days(Days::new(7)),
            Frequency::Daily => self.start.checked_add_days(Days::new(1)),
        };
        next.and_then(|n| n.pred_opt()).unwrap_or(self.start)
    }

    /// Month of the year (1-12) the period is centred on, for seasonality.
    pub(crate) fn mid_month(self) -> u32 {
        match self.freq {
            Frequency::Yearly => 7,
            Frequency::Quarterly => self.start.month() + 1,
            _ => self.start.month(),
        }
    }

    /// Whether this is the first period of its calendar year (where year-to-date sums restart).
    pub(crate) fn starts_year(self) -> bool {
        self.prev().start.year() != self.start.year()
    }

    /// The period written in `format`.
    pub(crate) fn label(self, format: DateFormat) -> String {
        let d = self.start;
        let q = d.month0() / 3 + 1;
        match format {
            DateFormat::Year => format!("{}", d.year()),
            DateFormat::YearMonth => format!("{}-{:02}", d.year(), d.month()),
            DateFormat::EndDate => self.display_day().format("%Y-%m-%d").to_string(),
            DateFormat::EndDateTime => self.display_day().format("%Y-%m-%dT00:00:00").to_string(),
            DateFormat::QuarterDash => format!("{}-Q{q}", d.year()),
            DateFormat::QuarterCompact => format!("{}Q{q}", d.year()),
            DateFormat::ImfMonth => format!("{}M{:02}", d.year(), d.month()),
            DateFormat::IsoWeek => {
                let w = d.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
        }
    }

    /// The day that stands for the period in full-date labels: the last day, or a week's Friday.
    fn display_day(self) -> NaiveDate {
        match self.freq {
            Frequency::Weekly => self
                .start
                .checked_add_days(Days::new(4))
                .unwrap_or(self.start),
            _ => self.end(),
        }
    }
}

/// `n` consecutive periods ending with `last`, oldest first.
pub(crate) fn periods_ending(last: Period, n: usize) -> Vec<Period> {
    let mut out = Vec::with_capacity(n);
    let mut p = last;
    for _ in 0..n {
        out.push(p);
        p = p.prev();
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::dates::{self, SampleDate};

    #[test]
    fn latest_periods_respect_publication_lags() {
        assert_eq!(
            Period::latest(Frequency::Yearly, 0).label(DateFormat::Year),
            "2024"
        );
        assert_eq!(
            Period::latest(Frequency::Quarterly, 0).label(DateFormat::QuarterDash),
            "2025-Q1"
        );
        assert_eq!(
            Period::latest(Frequency::Monthly, 2).label(DateFormat::YearMonth),
            "2025-03"
        );
        let day = Period::latest(Frequency::Daily, 0);
        assert_eq!(day.label(DateFormat::EndDate), "2025-06-27"); // 29th-30th: weekend/as-of
        assert_eq!(
            day.prev()
                .prev()
                .prev()
                .prev()
                .prev()
                .label(DateFormat::EndDate),
            "2025-06-20"
        );
    }

    #[test]
    fn labels_parse_as_the_period_they_name() {
        let q = Period {
            start: NaiveDate::from_ymd_opt(2024, 10, 1).unwrap(),
            freq: Frequency::Quarterly,
        };
        assert_eq!(q.label(DateFormat::EndDate), "2024-12-31");
        assert_eq!(q.label(DateFormat::QuarterCompact), "2024Q4");
        assert_eq!(
            dates::parse(&q.label(DateFormat::QuarterDash)),
            Some(SampleDate::Quarter(2024, 4))
        );
        let m = Period {
            start: NaiveDate::from_ymd_opt(2024, 2, 1).unwrap(),
            freq: Frequency::Monthly,
        };
        assert_eq!(m.label(DateFormat::EndDateTime), "2024-02-29T00:00:00");
        assert_eq!(
            dates::parse(&m.label(DateFormat::ImfMonth)),
            Some(SampleDate::Month(2024, 2))
        );
        let w = Period::latest(Frequency::Weekly, 0);
        assert_eq!(w.start.weekday(), Weekday::Mon);
        assert!(matches!(
            dates::parse(&w.label(DateFormat::IsoWeek)),
            Some(SampleDate::Week(2025, 26))
        ));
    }

    #[test]
    fn years_restart_where_expected() {
        let ps = periods_ending(Period::latest(Frequency::Monthly, 0), 24);
        let starts: Vec<_> = ps
            .iter()
            .filter(|p| p.starts_year())
            .map(|p| p.label(DateFormat::YearMonth))
            .collect();
        assert_eq!(starts, vec!["2024-01", "2025-01"]);
        assert!(
            ps.windows(2)
                .all(|w| w[0].end().succ_opt() == Some(w[1].start))
        );
    }
}
