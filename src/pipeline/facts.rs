//! [`IndicatorFacts`]: the compact, journal-friendly summary of an [`IndicatorRecord`] that every
//! stage input is built from. The full sample history never leaves this module; only a
//! [`SampleProfile`] of it does. Country-specific parts (the id, a country named in the title) sit
//! apart in [`FactsIdentity`] and are never copied into stage inputs.

use super::countries;
use super::dates;
use super::record::IndicatorRecord;
use super::taxonomy::ReportingFrequency;
use super::text::{clean_opt, squash_spaces, truncate_sensibly};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Longest description kept (characters).
pub(crate) const DESCRIPTION_MAX_CHARS: usize = 320;
/// Longest name, units or category string kept (characters).
const FIELD_MAX_CHARS: usize = 160;

/// What identifies one country's series; kept out of every stage input so that the same concept
/// across countries yields identical prompts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FactsIdentity {
    /// The source series id.
    pub id: String,
    /// The country split off the name, if the name carried one.
    pub country: Option<String>,
}

/// The compact summary of one indicator.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IndicatorFacts {
    /// Country-specific identity (never part of a stage input).
    pub identity: FactsIdentity,
    /// Display name without a country mention, whitespace squashed.
    pub name: String,
    /// Units as the source wrote them (trimmed).
    pub units: Option<String>,
    /// Declared periodicity.
    pub periodicity: Option<String>,
    /// Source scale column.
    pub scale: Option<String>,
    /// Source currency column.
    pub currency_code: Option<String>,
    /// Description, country names masked, truncated to [`DESCRIPTION_MAX_CHARS`].
    pub description: Option<String>,
    /// Publisher.
    pub source: Option<String>,
    /// Source category group.
    pub category_group: Option<String>,
    /// Source topic.
    pub topic: Option<String>,
    /// Source dataset.
    pub dataset: Option<String>,
    /// Source aggregation method.
    pub aggregation_method: Option<String>,
    /// Statistics of the sample values.
    pub samples: SampleProfile,
}

impl IndicatorFacts {
    /// Summarises a record.
    pub fn from_record(record: &IndicatorRecord) -> Self {
        let (name, country) = countries::split_country(&record.name);
        let name = if name.is_empty() {
            squash_spaces(&record.name)
        } else {
            name
        };
        let short = |s: &Option<String>| {
            clean_opt(s.as_deref()).map(|v| truncate_sensibly(&v, FIELD_MAX_CHARS))
        };
        IndicatorFacts {
            identity: FactsIdentity {
                id: record.id.clone(),
                country,
            },
            name: truncate_sensibly(&name, FIELD_MAX_CHARS),
            units: short(&record.units),
            periodicity: short(&record.periodicity),
            scale: short(&record.scale),
            currency_code: short(&record.currency_code),
            description: clean_opt(record.description.as_deref())
                .map(|d| truncate_sensibly(&countries::mask_countries(&d), DESCRIPTION_MAX_CHARS)),
            source: short(&record.source),
            category_group: short(&record.category_group),
            topic: short(&record.topic),
            dataset: short(&record.dataset),
            aggregation_method: short(&record.aggregation_method),
            samples: SampleProfile::from_points(
                record
                    .sample_values
                    .iter()
                    .map(|p| (p.date.as_str(), p.value)),
            ),
        }
    }
}

/// Coarse size of the typical absolute value (median of |value|); coarse on purpose, so that the
/// same concept in a small and a large economy usually lands in the same bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Magnitude {
    /// No values.
    #[default]
    Empty,
    /// Below 1 (fractions, correlations, ratios).
    BelowOne,
    /// 1 to 100 (percentages, small indices).
    UpToHundred,
    /// 100 to one million (index levels, prices, counts in thousands).
    UpToMillion,
    /// Above one million (raw currency amounts, populations).
    Large,
}

/// Sign pattern of the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignPattern {
    /// No values.
    #[default]
    Empty,
    /// Every value ≥ 0.
    NonNegative,
    /// Both signs occur.
    Mixed,
    /// Every value ≤ 0 (and at least one < 0).
    NonPositive,
}

/// Statistics of a series' sample values, in a few numbers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SampleProfile {
    /// Finite values seen.
    pub count: u32,
    /// Values whose date label parsed as a real period.
    pub dated: u32,
    /// Median gap between consecutive distinct dates, in days.
    pub median_gap_days: Option<u32>,
    /// The publication cadence the median gap suggests.
    pub cadence: Option<ReportingFrequency>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Mean value.
    pub mean: Option<f64>,
    /// Share of values below zero (0..1).
    pub negative_share: f64,
    /// Share of date-ordered consecutive steps that increase (0..1).
    pub increasing_share: f64,
    /// Consecutive date-ordered pairs that cross a calendar year.
    pub year_boundaries: u32,
    /// Year crossings where the value falls by 30 % or more (a year-to-date series restarting).
    pub within_year_resets: u32,
    /// Share of same-year consecutive steps that do not decrease, when there are any.
    pub within_year_rising_share: Option<f64>,
    /// Some year starts at its first period and grows in proportion to the period number
    /// (value ≈ k × period), the signature of a running total even without a visible reset.
    pub ytd_ramp: bool,
    /// Typical size of the values.
    pub magnitude: Magnitude,
}

impl SampleProfile {
    /// Profiles `(date label, value)` pairs; non-finite values are skipped.
    pub(crate) fn from_points<'a>(points: impl IntoIterator<Item = (&'a str, f64)>) -> Self {
        let points: Vec<(&str, f64)> = points.into_iter().filter(|(_, v)| v.is_finite()).collect();
        let values: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
        let mut profile = SampleProfile {
            count: len_u32(values.len()),
            ..Default::default()
        };
        if values.is_empty() {
            return profile;
        }
        profile.min = values.iter().copied().reduce(f64::min);
        profile.max = values.iter().copied().reduce(f64::max);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        profile.mean = mean.is_finite().then_some(mean);
        profile.negative_share =
            values.iter().filter(|v| **v < 0.0).count() as f64 / values.len() as f64;
        profile.magnitude = magnitude_of(&values);

        let mut dated: Vec<(NaiveDate, f64)> = points
            .iter()
            .filter_map(|(d, v)| dates::parse_period(d).map(|d| (d, *v)))
            .collect();
        profile.dated = len_u32(dated.len());
        dated.sort_by_key(|(d, _)| *d);
        dated.dedup_by_key(|(d, _)| *d);
        profile.fill_time_shape(&dated);
        profile
    }

    /// Sign pattern of the values.
    pub(crate) fn sign(&self) -> SignPattern {
        match (self.min, self.max) {
            (Some(min), Some(max)) if min < 0.0 && max > 0.0 => SignPattern::Mixed,
            (Some(min), _) if min >= 0.0 => SignPattern::NonNegative,
            (Some(_), _) => SignPattern::NonPositive,
            _ => SignPattern::Empty,
        }
    }

    fn fill_time_shape(&mut self, dated: &[(NaiveDate, f64)]) {
        if dated.len() < 2 {
            return;
        }
        let mut gaps: Vec<i64> = dated
            .windows(2)
            .map(|w| dates::days_between(w[0].0, w[1].0))
            .collect();
        gaps.sort_unstable();
        let median = gaps[gaps.len() / 2];
        let median = u32::try_from(median.max(0)).unwrap_or(u32::MAX);
        self.median_gap_days = Some(median);
        self.cadence = Some(cadence_from_gap(median));

        let steps = dated.len() - 1;
        let increasing = dated.windows(2).filter(|w| w[1].1 > w[0].1).count();
        self.increasing_share = increasing as f64 / steps as f64;

        // Year-to-date signatures only make sense below an annual cadence.
        if median > 135 {
            return;
        }
        let (mut boundaries, mut resets, mut same_year, mut rising) = (0u32, 0u32, 0u32, 0u32);
        for w in dated.windows(2) {
            let ((da, a), (db, b)) = (w[0], w[1]);
            if dates::year_of(da) != dates::year_of(db) {
                boundaries += 1;
                if a > 0.0 && b < a * 0.7 {
                    resets += 1;
                }
            } else {
                same_year += 1;
                if b >= a {
                    rising += 1;
                }
            }
        }
        self.year_boundaries = boundaries;
        self.within_year_resets = resets;
        self.within_year_rising_share =
            (same_year > 0).then(|| f64::from(rising) / f64::from(same_year));
        self.ytd_ramp = has_ytd_ramp(dated, median);
    }
}

/// The cadence a median gap in days stands for.
pub(crate) fn cadence_from_gap(days: u32) -> ReportingFrequency {
    match days {
        0..=4 => ReportingFrequency::Daily,
        5..=10 => ReportingFrequency::Weekly,
        25..=35 => ReportingFrequency::Monthly,
        80..=100 => ReportingFrequency::Quarterly,
        350..=380 => ReportingFrequency::Annual,
        _ => ReportingFrequency::Irregular,
    }
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn magnitude_of(values: &[f64]) -> Magnitude {
    let mut abs: Vec<f64> = values.iter().map(|v| v.abs()).collect();
    abs.sort_by(f64::total_cmp);
    let typical = abs[abs.len() / 2];
    if typical < 1.0 {
        Magnitude::BelowOne
    } else if typical <= 100.0 {
        Magnitude::UpToHundred
    } else if typical <= 1e6 {
        Magnitude::UpToMillion
    } else {
        Magnitude::Large
    }
}

/// A year whose first observation is its first period and whose values grow in proportion to
/// the period number (coefficient of variation of value/period below 0.25, at least 4 points).
fn has_ytd_ramp(dated: &[(NaiveDate, f64)], gap_days: u32) -> bool {
    let mut start = 0;
    while start < dated.len() {
        let year = dates::year_of(dated[start].0);
        let end = dated[start..]
            .iter()
            .position(|(d, _)| dates::year_of(*d) != year)
            .map_or(dated.len(), |p| start + p);
        let group = &dated[start..end];
        start = end;
        if group.len() < 4 || dates::period_in_year(group[0].0, gap_days) != 1 {
            continue;
        }
        let increasing = group.windows(2).all(|w| w[1].1 > w[0].1);
        if !increasing || group[0].1 <= 0.0 {
            continue;
        }
        let per_period: Vec<f64> = group
            .iter()
            .map(|(d, v)| v / f64::from(dates::period_in_year(*d, gap_days).max(1)))
            .collect();
        let mean = per_period.iter().sum::<f64>() / per_period.len() as f64;
        let var =
            per_period.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / per_period.len() as f64;
        if mean > 0.0 && var.sqrt() / mean < 0.25 {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::record::SamplePoint;

    fn profile(points: &[(&str, f64)]) -> SampleProfile {
        SampleProfile::from_points(points.iter().copied())
    }

    fn monthly(year: i32, values: &[f64]) -> Vec<(String, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{year}-{:02}", i + 1), *v))
            .collect()
    }

    #[test]
    fn weekly_daily_quarterly_annual_gaps() {
        let weekly = profile(&[("2024-W01", 1.0), ("2024-W02", 2.0), ("2024-W03", 3.0)]);
        assert_eq!(weekly.median_gap_days, Some(7));
        assert_eq!(weekly.cadence, Some(ReportingFrequency::Weekly));
        let business_days = profile(&[
            ("2024-12-05", 1.0),
            ("2024-12-06", 1.0),
            ("2024-12-09", 1.0),
            ("2024-12-10", 1.0),
        ]);
        assert_eq!(business_days.cadence, Some(ReportingFrequency::Daily));
        let quarterly = profile(&[("2023-Q4", 1.0), ("2023-Q3", 1.0), ("2024-Q1", 1.0)]);
        assert_eq!(quarterly.cadence, Some(ReportingFrequency::Quarterly));
        let annual = profile(&[("2023", 1.0), ("2021", 1.0), ("2022", 1.0)]);
        assert_eq!(annual.cadence, Some(ReportingFrequency::Annual));
    }

    #[test]
    fn pseudo_dates_are_ignored_but_values_counted() {
        let p = profile(&[("last10YearsAvg", 5.0), ("2020", 1.0), ("2021", 2.0)]);
        assert_eq!(p.count, 3);
        assert_eq!(p.dated, 2);
        assert_eq!(p.cadence, Some(ReportingFrequency::Annual));
        assert_eq!(p.max, Some(5.0));
    }

    #[test]
    fn empty_samples_profile_to_defaults() {
        let p = profile(&[]);
        assert_eq!(p, SampleProfile::default());
        assert_eq!(p.sign(), SignPattern::Empty);
    }

    #[test]
    fn ytd_resets_are_seen_and_rising_cpi_is_not() {
        let mut ytd: Vec<(String, f64)> = monthly(2023, &[10.0, 21.0, 30.0, 41.0, 50.0, 62.0]);
        ytd.extend(monthly(2024, &[11.0, 20.0, 33.0, 44.0, 52.0, 60.0]));
        // Keep the second half of 2023 so the year boundary is Dec → Jan.
        ytd.extend((7..=12).map(|m| (format!("2023-{m:02}"), 60.0 + 10.0 * f64::from(m - 6))));
        let ytd_p = SampleProfile::from_points(ytd.iter().map(|(d, v)| (d.as_str(), *v)));
        assert_eq!(ytd_p.year_boundaries, 1);
        assert_eq!(ytd_p.within_year_resets, 1);
        assert!(ytd_p.within_year_rising_share.unwrap() > 0.9);
        assert!(ytd_p.ytd_ramp);

        let mut cpi = monthly(
            2023,
            &(0..12).map(|i| 300.0 + f64::from(i)).collect::<Vec<_>>(),
        );
        cpi.extend(monthly(
            2024,
            &(0..12).map(|i| 312.0 + f64::from(i)).collect::<Vec<_>>(),
        ));
        let cpi_p = SampleProfile::from_points(cpi.iter().map(|(d, v)| (d.as_str(), *v)));
        assert_eq!(cpi_p.within_year_resets, 0);
        assert!(!cpi_p.ytd_ramp);
        assert!(cpi_p.increasing_share > 0.95);
    }

    #[test]
    fn facts_strip_the_country_and_keep_it_apart() {
        let record = IndicatorRecord {
            id: "SP.POP.TOTL_IDN".into(),
            name: "Population, total (Indonesia)".into(),
            description: Some("Total population of Indonesia. ".repeat(30)),
            sample_values: vec![SamplePoint {
                date: "2023".into(),
                value: 2.8e8,
            }],
            ..Default::default()
        };
        let f = IndicatorFacts::from_record(&record);
        assert_eq!(f.name, "Population, total");
        assert_eq!(f.identity.country.as_deref(), Some("Indonesia"));
        let d = f.description.unwrap();
        assert!(!d.contains("Indonesia"), "{d}");
        assert!(d.chars().count() <= DESCRIPTION_MAX_CHARS + 1);
        assert_eq!(f.samples.magnitude, Magnitude::Large);
    }
}
