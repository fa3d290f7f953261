//! Stage 2, time inference: reporting frequency and time basis, with cumulative (year-to-date)
//! detection done by rules beside it.
//!
//! The declared periodicity and the median gap between sample dates are both evidence; when they
//! disagree the dates win (they are what the series actually does). A series is cumulative when
//! its name or description says so ("YTD", "year to date", "cumulative"), or when its samples
//! restart each year (a fall of 30 % or more across a year boundary with rises within years) or
//! grow in proportion to the period number from the first period of a year. Steadily rising
//! levels such as a CPI or wages show neither signature and are not flagged.

use super::answer::{self, AnswerReader};
use super::concept;
use super::facts::IndicatorFacts;
use super::normalization::NormalizationOutput;
use super::stage::{InvalidAnswer, LlmStage, Prompt, Stage, StageName};
use super::taxonomy::{IndicatorType, ReportingFrequency, TimeBasis};
use super::text::Text;
use super::view::IndicatorView;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The time-inference stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeInferenceStage;

/// Evidence that values are running totals, found by rules when the input is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CumulativeSignal {
    /// No evidence.
    None,
    /// The name or description says year-to-date or cumulative.
    Named,
    /// Values fall sharply at each new year and rise within years.
    WithinYearResets,
    /// Values grow in proportion to the period number from the first period of a year.
    RunningTotalRamp,
}

/// What time inference reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeInput {
    /// The country-agnostic view.
    pub indicator: IndicatorView,
    /// Declared periodicity, as the source wrote it.
    pub periodicity: Option<String>,
    /// Cadence suggested by the median gap between sample dates.
    pub observed_cadence: Option<ReportingFrequency>,
    /// Rules evidence of running totals.
    pub cumulative_signal: CumulativeSignal,
}

impl TimeInput {
    /// Builds the input from facts and the normalization result; runs cumulative detection.
    pub fn new(facts: &IndicatorFacts, norm: &NormalizationOutput) -> Self {
        TimeInput {
            indicator: IndicatorView::new(facts, norm),
            periodicity: facts.periodicity.clone(),
            observed_cadence: facts.samples.cadence,
            cumulative_signal: cumulative_signal(facts),
        }
    }
}

/// Rules detection of year-to-date / cumulative series.
pub(crate) fn cumulative_signal(facts: &IndicatorFacts) -> CumulativeSignal {
    let text = Text::join([Some(facts.name.as_str()), facts.description.as_deref()]);
    let named = text.has_any(&[
        "ytd",
        "fytd",
        "year to date",
        "year todate",
        "cumulative",
        "cumulated",
        "accumulated",
        "since the beginning of the year",
        "since the start of the year",
        "so far this year",
        "running total",
    ]);
    if named {
        return CumulativeSignal::Named;
    }
    let s = &facts.samples;
    if s.within_year_resets >= 1
        && s.within_year_resets * 2 >= s.year_boundaries
        && s.within_year_rising_share.is_some_and(|r| r >= 0.8)
    {
        return CumulativeSignal::WithinYearResets;
    }
    if s.ytd_ramp {
        return CumulativeSignal::RunningTotalRamp;
    }
    CumulativeSignal::None
}

/// What time inference decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeOutput {
    /// How often values are published.
    pub reporting_frequency: ReportingFrequency,
    /// What one observation covers.
    pub time_basis: TimeBasis,
    /// Whether values are running totals (then `time_basis` is `cumulative`).
    pub is_cumulative: bool,
    /// Confidence (0..1).
    pub confidence: f64,
    /// Short reasoning.
    pub reasoning: String,
}

/// Reads a declared periodicity ("Monthly", "M", "quarterly", "A", "Yearly", "Semi-annual").
pub(crate) fn parse_periodicity(p: &str) -> Option<ReportingFrequency> {
    use ReportingFrequency as F;
    let t = Text::new(p);
    let s = t.as_str();
    Some(match s {
        "d" | "daily" | "day" | "business daily" | "business day" => F::Daily,
        "w" | "weekly" | "week" => F::Weekly,
        "m" | "monthly" | "month" => F::Monthly,
        "q" | "quarterly" | "quarter" => F::Quarterly,
        "a" | "y" | "annual" | "annually" | "yearly" | "year" => F::Annual,
        _ if t.has_any(&[
            "semi annual",
            "semiannual",
            "biannual",
            "half yearly",
            "irregular",
        ]) =>
        {
            F::Irregular
        }
        _ if t.has("daily") => F::Daily,
        _ if t.has("weekly") => F::Weekly,
        _ if t.has("monthly") => F::Monthly,
        _ if t.has("quarterly") => F::Quarterly,
        _ if t.has_any(&["annual", "yearly"]) => F::Annual,
        _ => return None,
    })
}

/// Types whose observation covers the whole period rather than a moment.
fn per_period(ty: IndicatorType) -> bool {
    use IndicatorType as T;
    matches!(
        ty,
        T::Flow
            | T::Balance
            | T::Volume
            | T::Count
            | T::Rate
            | T::Correlation
            | T::Elasticity
            | T::Multiplier
    )
}

impl Stage for TimeInferenceStage {
    const NAME: StageName = StageName::TimeInference;
    type Input = TimeInput;
    type Output = TimeOutput;

    fn rules_with(input: &TimeInput, conv: &super::conventions::Conventions) -> TimeOutput {
        rules_with(input, conv)
    }
}

/// The rules' answer under the conventions `conv` (they decide the type, hence the time basis).
pub(crate) fn rules_with(input: &TimeInput, conv: &super::conventions::Conventions) -> TimeOutput {
    let declared = input.periodicity.as_deref().and_then(parse_periodicity);
    let (reporting_frequency, freq_conf, freq_why) = match (declared, input.observed_cadence) {
        (Some(d), Some(o)) if d == o => (d, 0.95, "periodicity and sample dates agree"),
        (Some(_), Some(o)) if o != ReportingFrequency::Irregular => {
            (o, 0.7, "sample dates override the declared periodicity")
        }
        (Some(d), _) => (d, 0.85, "declared periodicity"),
        (None, Some(o)) if o != ReportingFrequency::Irregular => {
            (o, 0.8, "median gap between sample dates")
        }
        (None, Some(o)) => (o, 0.5, "sample dates are irregular"),
        (None, None) => (
            ReportingFrequency::Irregular,
            0.3,
            "no periodicity and no dated samples",
        ),
    };
    let is_cumulative = input.cumulative_signal != CumulativeSignal::None;
    let v = concept::verdict(&input.indicator, conv);
    let (time_basis, basis_why) = if is_cumulative {
        (TimeBasis::Cumulative, "values are running totals")
    } else if per_period(v.ty) {
        (TimeBasis::PerPeriod, "values cover the whole period")
    } else {
        (TimeBasis::PointInTime, "values describe a moment")
    };
    let basis_conf = if is_cumulative { 0.85 } else { v.confidence };
    TimeOutput {
        reporting_frequency,
        time_basis,
        is_cumulative,
        confidence: answer::round_confidence((freq_conf + basis_conf) / 2.0),
        reasoning: format!("{reporting_frequency}: {freq_why}; {time_basis}: {basis_why}"),
    }
}

const SYSTEM: &str = "You infer the time structure of an economic indicator series.

reporting_frequency: how often the source publishes a value.
{FREQ}

time_basis: what one observation covers.
- per-period: an amount or change over the whole period (GDP, exports, tax revenue, growth rates, counts of events)
- point-in-time: a level or reading at a moment (debt, reserves, population, prices, interest rates, indices, unemployment rate)
- cumulative: a running total since the start of the year or of the series (year-to-date)

Decision rules:
1. Sample dates are the strongest evidence of frequency: observed_cadence comes from the median gap between dates; prefer it over a declared periodicity that disagrees, unless it is irregular.
2. time_basis is cumulative exactly when the values are running totals. cumulative_signal is rules evidence: named (the name or description says YTD / year to date / cumulative), within-year-resets (values drop at each new year and rise within it), running-total-ramp (values grow in proportion to the month or quarter number). A steadily rising level such as a price index or a wage is NOT cumulative.
3. Rates of change, flows and counts are per-period; stocks, prices, rates of interest, percentages and index levels are point-in-time.";

impl LlmStage for TimeInferenceStage {
    fn prompt(input: &TimeInput) -> Prompt {
        let system = SYSTEM.replace(
            "{FREQ}",
            &answer::bullets(&[
                ("daily", "every day or business day"),
                ("weekly", "every week"),
                ("monthly", "every month"),
                ("quarterly", "every quarter"),
                ("annual", "once a year"),
                ("irregular", "no regular cadence, or unknown"),
            ]),
        );
        answer::prompt(
            StageName::TimeInference,
            system,
            "Infer the reporting frequency, time basis and whether the values are cumulative.",
            input,
            schema(),
        )
    }

    fn parse_answer(_input: &TimeInput, answer: &Value) -> Result<TimeOutput, InvalidAnswer> {
        let mut r = AnswerReader::new(StageName::TimeInference, answer)?;
        let reporting_frequency = r.taxonomy("reporting_frequency")?;
        let time_basis: TimeBasis = r.taxonomy("time_basis")?;
        // Not in the schema: it follows from the time basis, so a model cannot contradict it.
        // An answer that still carries it (an unconstrained model) must agree.
        let is_cumulative = time_basis == TimeBasis::Cumulative;
        let stated = if answer.get("is_cumulative").is_some() {
            Some(r.boolean("is_cumulative")?)
        } else {
            None
        };
        let confidence = r.confidence()?;
        let reasoning = r.reasoning()?;
        if let Some(is_cumulative) = stated
            && is_cumulative != (time_basis == TimeBasis::Cumulative)
        {
            return Err(r.error(format!(
                "is_cumulative is {is_cumulative} but time_basis is {time_basis}; they must agree"
            )));
        }
        r.finish()?;
        Ok(TimeOutput {
            reporting_frequency,
            time_basis,
            is_cumulative,
            confidence,
            reasoning,
        })
    }

    fn render_answer(output: &TimeOutput) -> Value {
        json!({
            "reporting_frequency": output.reporting_frequency,
            "time_basis": output.time_basis,
            "confidence": output.confidence,
            "reasoning": output.reasoning,
        })
    }

    fn confidence(output: &TimeOutput) -> f64 {
        output.confidence
    }
}

/// The answer schema (the same for every input).
pub(crate) fn schema() -> Value {
    answer::object_schema(vec![
        (
            "reporting_frequency",
            answer::enum_schema(&ReportingFrequency::names(), "publication cadence"),
        ),
        (
            "time_basis",
            answer::enum_schema(&TimeBasis::names(), "what one observation covers"),
        ),
        ("confidence", answer::confidence_schema()),
        ("reasoning", answer::reasoning_schema()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::normalization::{NormalizationInput, NormalizationStage};
    use crate::pipeline::record::{IndicatorRecord, SamplePoint};

    fn time(
        name: &str,
        units: &str,
        periodicity: Option<&str>,
        samples: &[(&str, f64)],
    ) -> TimeOutput {
        let record = IndicatorRecord {
            name: name.into(),
            units: Some(units.into()),
            periodicity: periodicity.map(Into::into),
            sample_values: samples
                .iter()
                .map(|(d, v)| SamplePoint {
                    date: (*d).into(),
                    value: *v,
                })
                .collect(),
            ..Default::default()
        };
        let facts = IndicatorFacts::from_record(&record);
        let norm = NormalizationStage::rules(&NormalizationInput::new(&facts));
        TimeInferenceStage::rules(&TimeInput::new(&facts, &norm))
    }

    fn months(from_year: i32, n: usize, f: impl Fn(usize) -> f64) -> Vec<(String, f64)> {
        (0..n)
            .map(|i| {
                let y = from_year + (i / 12) as i32;
                (format!("{y}-{:02}", i % 12 + 1), f(i))
            })
            .collect()
    }

    fn refs(v: &[(String, f64)]) -> Vec<(&str, f64)> {
        v.iter().map(|(d, x)| (d.as_str(), *x)).collect()
    }

    #[test]
    fn weekly_dates_beat_a_missing_periodicity() {
        let t = time(
            "Initial Jobless Claims",
            "Thousand",
            None,
            &[
                ("2024-W01", 210.0),
                ("2024-W02", 215.0),
                ("2024-W03", 220.0),
            ],
        );
        assert_eq!(t.reporting_frequency, ReportingFrequency::Weekly);
        assert_eq!(t.time_basis, TimeBasis::PerPeriod);
    }

    #[test]
    fn dates_override_a_wrong_periodicity() {
        let t = time(
            "GDP",
            "USD Billion",
            Some("Annual"),
            &[("2023-Q1", 1.0), ("2023-Q2", 1.0), ("2023-Q3", 1.0)],
        );
        assert_eq!(t.reporting_frequency, ReportingFrequency::Quarterly);
        assert!(t.reasoning.contains("override"), "{}", t.reasoning);
    }

    #[test]
    fn ytd_resets_are_cumulative() {
        // Monthly running totals that restart every January.
        let v = months(2022, 30, |i| 100.0 * (i % 12 + 1) as f64);
        let t = time("Exports", "USD Million", Some("Monthly"), &refs(&v));
        assert!(t.is_cumulative);
        assert_eq!(t.time_basis, TimeBasis::Cumulative);
    }

    #[test]
    fn rising_cpi_and_wages_are_not_cumulative() {
        let cpi = months(2021, 36, |i| 100.0 * 1.004f64.powi(i as i32));
        let t = time(
            "Consumer Price Index CPI",
            "points",
            Some("Monthly"),
            &refs(&cpi),
        );
        assert!(!t.is_cumulative);
        assert_eq!(t.time_basis, TimeBasis::PointInTime);
        let wages = months(2022, 24, |i| 3000.0 + 15.0 * i as f64);
        let t = time("Wages", "EUR/Month", Some("Monthly"), &refs(&wages));
        assert!(!t.is_cumulative);
    }

    #[test]
    fn named_ytd_is_cumulative_without_resets() {
        let t = time(
            "Crude Oil Production (Year-to-Date)",
            "million barrels",
            Some("monthly"),
            &[],
        );
        assert!(t.is_cumulative);
    }

    #[test]
    fn periodicity_spellings() {
        assert_eq!(parse_periodicity("M"), Some(ReportingFrequency::Monthly));
        assert_eq!(
            parse_periodicity("Quarterly"),
            Some(ReportingFrequency::Quarterly)
        );
        assert_eq!(parse_periodicity("A"), Some(ReportingFrequency::Annual));
        assert_eq!(
            parse_periodicity("Semi-annual"),
            Some(ReportingFrequency::Irregular)
        );
        assert_eq!(parse_periodicity("sometimes"), None);
    }

    #[test]
    fn answers_must_keep_cumulative_and_basis_in_step() {
        let t = time("GDP", "USD Billion", Some("Annual"), &[]);
        let input_facts = IndicatorFacts::default();
        let norm = NormalizationStage::rules(&NormalizationInput::new(&input_facts));
        let input = TimeInput::new(&input_facts, &norm);
        let mut bad = TimeInferenceStage::render_answer(&t);
        bad["is_cumulative"] = json!(true);
        let err = TimeInferenceStage::parse_answer(&input, &bad).unwrap_err();
        assert!(err.reason.contains("must agree"), "{err}");
        let mut bad = TimeInferenceStage::render_answer(&t);
        bad["reporting_frequency"] = json!("fortnightly");
        assert!(
            TimeInferenceStage::parse_answer(&input, &bad)
                .unwrap_err()
                .reason
                .contains("reporting_frequency")
        );
        assert_eq!(
            TimeInferenceStage::parse_answer(&input, &TimeInferenceStage::render_answer(&t)),
            Ok(t)
        );
    }
}
