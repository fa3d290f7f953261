//! Stage 5, boolean review: checks the whole draft classification for consistency with the
//! taxonomy, with itself and with the evidence, and flags wrong fields with reasons.
//!
//! Checks: the type belongs to the family; the temporal aggregation suits the type; the
//! cumulative flag, time basis and aggregation agree (a level cannot be a running total); the
//! currency flag matches the units; the frequency matches the sample dates; the time basis suits
//! the type; and the family and orientation agree with strong rules evidence.

use super::aggregation;
use super::answer::{self, AnswerReader};
use super::classification::{Classification, DraftFields, ReviewField, ReviewFlag};
use super::concept;
use super::conventions::{self, Conventions};
use super::facts::IndicatorFacts;
use super::normalization::NormalizationOutput;
use super::orientation;
use super::stage::{InvalidAnswer, LlmStage, Prompt, Stage, StageName};
use super::taxonomy::{
    IndicatorType, ReportingFrequency, TemporalAggregation, TimeBasis, UnitType,
};
use super::time_inference::{self, CumulativeSignal};
use super::view::IndicatorView;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The boolean-review stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct BooleanReviewStage;

/// What the review reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewInput {
    /// The country-agnostic view.
    pub indicator: IndicatorView,
    /// Cadence of the sample dates.
    pub observed_cadence: Option<ReportingFrequency>,
    /// Rules evidence of running totals.
    pub cumulative_signal: CumulativeSignal,
    /// The draft under review.
    pub draft: DraftFields,
}

impl ReviewInput {
    /// Builds the input from facts, the normalization result and the draft.
    pub fn new(facts: &IndicatorFacts, norm: &NormalizationOutput, draft: &Classification) -> Self {
        ReviewInput {
            indicator: IndicatorView::new(facts, norm),
            observed_cadence: facts.samples.cadence,
            cumulative_signal: time_inference::cumulative_signal(facts),
            draft: draft.fields(),
        }
    }
}

/// What the review decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewOutput {
    /// Fields that look wrong (each at most once).
    pub flags: Vec<ReviewFlag>,
    /// Confidence (0..1).
    pub confidence: f64,
    /// Short reasoning.
    pub reasoning: String,
}

/// Types whose observations cover a whole period.
pub(crate) fn is_period_type(ty: IndicatorType) -> bool {
    use IndicatorType as T;
    matches!(ty, T::Flow | T::Balance | T::Volume | T::Count | T::Rate)
}

/// Types whose observations describe a moment.
pub(crate) fn is_moment_type(ty: IndicatorType) -> bool {
    use IndicatorType as T;
    matches!(ty, T::Stock | T::Capacity | T::Price | T::Yield | T::Index)
}

/// Types that can be running totals.
pub(crate) fn can_accumulate(ty: IndicatorType) -> bool {
    use IndicatorType as T;
    matches!(ty, T::Flow | T::Balance | T::Volume | T::Count | T::Other)
}

/// Collects flags, one per field (later reasons are appended to the first).
#[derive(Default)]
struct Flags(Vec<ReviewFlag>);

impl Flags {
    fn add(&mut self, field: ReviewField, reason: impl Into<String>) {
        let reason = reason.into();
        match self.0.iter_mut().find(|f| f.field == field) {
            Some(f) => {
                f.reason.push_str("; ");
                f.reason.push_str(&reason);
            }
            None => self.0.push(ReviewFlag { field, reason }),
        }
    }

    fn into_sorted(mut self) -> Vec<ReviewFlag> {
        self.0.sort_by_key(|f| f.field);
        self.0
    }
}

/// The rules' consistency checks under the conventions `conv`.
pub(crate) fn check(input: &ReviewInput, conv: &Conventions) -> Vec<ReviewFlag> {
    use ReviewField as F;
    let d = &input.draft;
    let view = &input.indicator;
    let mut flags = Flags::default();

    if !d.indicator_type.belongs_to(d.family) {
        flags.add(
            F::IndicatorType,
            format!("{} is not a type of family {}", d.indicator_type, d.family),
        );
    }
    let v = concept::verdict(view, conv);
    if v.confidence >= 0.85 && v.family() != d.family {
        let why = format!(
            "the name and units read as a {} ({}): {}",
            v.ty,
            v.family(),
            v.why
        );
        flags.add(F::Family, why.clone());
        flags.add(F::IndicatorType, why);
    }

    if !aggregation::allowed(d.indicator_type).contains(&d.temporal_aggregation) {
        flags.add(
            F::TemporalAggregation,
            format!(
                "{} does not suit a {}",
                d.temporal_aggregation, d.indicator_type
            ),
        );
    }
    if d.is_cumulative != (d.time_basis == TimeBasis::Cumulative) {
        let why = format!(
            "is_cumulative is {} but time_basis is {}",
            d.is_cumulative, d.time_basis
        );
        flags.add(F::IsCumulative, why.clone());
        flags.add(F::TimeBasis, why);
    }
    let cumulative_agg = d.temporal_aggregation == TemporalAggregation::PeriodCumulative;
    if d.is_cumulative && !cumulative_agg {
        if can_accumulate(d.indicator_type) {
            flags.add(
                F::TemporalAggregation,
                "values are running totals, so the aggregation is period-cumulative",
            );
        } else {
            let why = format!(
                "a {} is a level and cannot be a running total",
                d.indicator_type
            );
            flags.add(F::IsCumulative, why.clone());
            flags.add(F::TimeBasis, why);
        }
    }
    if !d.is_cumulative && cumulative_agg {
        flags.add(
            F::TemporalAggregation,
            "period-cumulative needs values that are running totals",
        );
    }

    let agg = aggregation::temporal_aggregation(d.indicator_type, view, d.is_cumulative, conv);
    if agg.confidence >= 0.85
        && agg.value != d.temporal_aggregation
        && aggregation::allowed(d.indicator_type).contains(&d.temporal_aggregation)
        && !(d.is_cumulative || cumulative_agg)
    {
        flags.add(
            F::TemporalAggregation,
            format!("expected {}: {}", agg.value, agg.why),
        );
    }

    if view.unit_type != UnitType::Unknown {
        let expected = concept::currency(d.indicator_type, view, conv).value;
        if expected != d.is_currency_denominated {
            flags.add(
                F::IsCurrencyDenominated,
                if expected {
                    "the units are an amount of money"
                } else if view.currency_amount {
                    "this type is a proportion or change, not an amount of money"
                } else {
                    "the units are not money"
                },
            );
        }
    }

    if let Some(observed) = input.observed_cadence
        && observed != ReportingFrequency::Irregular
        && observed != d.reporting_frequency
    {
        flags.add(
            F::ReportingFrequency,
            format!("sample dates are {observed}, not {}", d.reporting_frequency),
        );
    }

    if !d.is_cumulative {
        if is_period_type(d.indicator_type) && d.time_basis == TimeBasis::PointInTime {
            flags.add(
                F::TimeBasis,
                format!("a {} covers the whole period", d.indicator_type),
            );
        }
        if is_moment_type(d.indicator_type) && d.time_basis == TimeBasis::PerPeriod {
            flags.add(
                F::TimeBasis,
                format!("a {} describes a moment", d.indicator_type),
            );
        }
    }

    let o = orientation::orientation(d.indicator_type, view, conv);
    if o.confidence >= 0.85 && o.value != d.heat_map_orientation {
        flags.add(
            F::HeatMapOrientation,
            format!("expected {}: {}", o.value, o.why),
        );
    }
    flags.into_sorted()
}

impl Stage for BooleanReviewStage {
    const NAME: StageName = StageName::BooleanReview;
    type Input = ReviewInput;
    type Output = ReviewOutput;

    fn rules_with(input: &ReviewInput, conv: &super::conventions::Conventions) -> ReviewOutput {
        rules_with(input, conv)
    }
}

/// The rules' review under the conventions `conv`.
pub(crate) fn rules_with(input: &ReviewInput, conv: &Conventions) -> ReviewOutput {
    let flags = check(input, conv);
    let reasoning = if flags.is_empty() {
        "the draft is consistent with the taxonomy and the evidence".to_string()
    } else {
        let names: Vec<&str> = flags.iter().map(|f| f.field.as_str()).collect();
        format!("inconsistent: {}", names.join(", "))
    };
    ReviewOutput {
        confidence: if flags.is_empty() { 0.9 } else { 0.8 },
        flags,
        reasoning,
    }
}

const SYSTEM: &str = "You review a draft classification of an economic indicator and flag every field that is wrong or inconsistent. Flag only real problems; an empty list means the draft is fine.

{TAXONOMY}

Check that:
1. indicator_type belongs to family, and the family fits the name, units and description.
2. temporal_aggregation follows the house conventions below and suits the type.
3. is_cumulative is true exactly when time_basis is cumulative, and then temporal_aggregation is period-cumulative; a level (stock, price, index) cannot be a running total. cumulative_signal is rules evidence of year-to-date values.
4. is_currency_denominated is true for amounts of money (currency_amount in the units) and false for percentages, rates of change, index points, shares and other proportions.
5. reporting_frequency matches observed_cadence (from the sample dates) when that is regular.
6. time_basis is per-period for flows, balances, volumes, counts and rates of change, and point-in-time for stocks, prices and index levels.
7. heat_map_orientation, family, indicator_type and is_currency_denominated follow the house conventions below.

{CONVENTIONS}
Flag each wrong field once, with a short reason. Fields: family, indicator_type, temporal_aggregation, heat_map_orientation, is_currency_denominated, reporting_frequency, time_basis, is_cumulative.";

impl LlmStage for BooleanReviewStage {
    fn prompt(input: &ReviewInput) -> Prompt {
        answer::prompt(
            StageName::BooleanReview,
            SYSTEM
                .replace("{TAXONOMY}", super::family_assignment::TAXONOMY_TEXT)
                .replace("{CONVENTIONS}", &conventions::effective().prompt_text()),
            "Review the draft classification and flag the fields that are wrong.",
            input,
            schema(),
        )
    }

    fn parse_answer(_input: &ReviewInput, answer: &Value) -> Result<ReviewOutput, InvalidAnswer> {
        let mut r = AnswerReader::new(StageName::BooleanReview, answer)?;
        let items = r.array("flags")?;
        let mut flags: Vec<ReviewFlag> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let flag = parse_flag(item).map_err(|e| r.error(format!("flags[{i}]: {e}")))?;
            // A field flagged twice is still one flag (the first reason is kept): the schema
            // cannot say "each at most once" for objects, and a 135M model repeated a flag in
            // 17 of 18 invalid reviews on llama.cpp; rejecting it threw the review away.
            if !flags.iter().any(|f| f.field == flag.field) {
                flags.push(flag);
            }
        }
        let confidence = r.confidence()?;
        let reasoning = r.reasoning()?;
        r.finish()?;
        Ok(ReviewOutput {
            flags,
            confidence,
            reasoning,
        })
    }

    fn render_answer(output: &ReviewOutput) -> Value {
        json!({
            "flags": output
                .flags
                .iter()
                .map(|f| json!({"field": f.field, "reason": f.reason}))
                .collect::<Vec<_>>(),
            "confidence": output.confidence,
            "reasoning": output.reasoning,
        })
    }

    fn confidence(output: &ReviewOutput) -> f64 {
        output.confidence
    }
}

fn parse_flag(item: &Value) -> Result<ReviewFlag, String> {
    let obj = item
        .as_object()
        .ok_or_else(|| format!("expected an object, got {}", answer::kind(item)))?;
    if let Some(extra) = obj.keys().find(|k| *k != "field" && *k != "reason") {
        return Err(format!("unexpected field \"{extra}\""));
    }
    let field = obj
        .get("field")
        .and_then(Value::as_str)
        .ok_or("\"field\" must be a string")?
        .parse::<ReviewField>()
        .map_err(|e| e.to_string())?;
    let reason = obj
        .get("reason")
        .and_then(Value::as_str)
        .ok_or("\"reason\" must be a string")?;
    if reason.trim().is_empty() {
        return Err(format!("the reason for {field} is empty"));
    }
    Ok(ReviewFlag {
        field,
        reason: reason.to_string(),
    })
}

/// The answer schema (the same for every input).
pub(crate) fn schema() -> Value {
    answer::object_schema(vec![
        (
            "flags",
            answer::array_schema(
                answer::object_schema(vec![
                    (
                        "field",
                        answer::enum_schema(&ReviewField::names(), "the wrong field"),
                    ),
                    ("reason", answer::text_schema("why it is wrong")),
                ]),
                ReviewField::names().len(),
                "the wrong fields, each at most once",
            ),
        ),
        ("confidence", answer::confidence_schema()),
        ("reasoning", answer::reasoning_schema()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::facts::{Magnitude, SignPattern};
    use crate::pipeline::taxonomy::{Family, HeatMapOrientation};

    fn view(name: &str, unit_type: UnitType, money: bool) -> IndicatorView {
        IndicatorView {
            name: name.into(),
            units: None,
            description: None,
            category: None,
            aggregation_method: None,
            unit_type,
            currency_amount: money,
            per: None,
            index_base: None,
            sign: SignPattern::NonNegative,
            magnitude: Magnitude::UpToMillion,
        }
    }

    fn draft() -> DraftFields {
        DraftFields {
            family: Family::PhysicalFundamental,
            indicator_type: IndicatorType::Stock,
            temporal_aggregation: TemporalAggregation::PointInTime,
            heat_map_orientation: HeatMapOrientation::LowerIsPositive,
            is_currency_denominated: true,
            reporting_frequency: ReportingFrequency::Quarterly,
            time_basis: TimeBasis::PointInTime,
            is_cumulative: false,
        }
    }

    fn input(d: DraftFields) -> ReviewInput {
        ReviewInput {
            indicator: view("Government Debt", UnitType::CurrencyAmount, true),
            observed_cadence: Some(ReportingFrequency::Quarterly),
            cumulative_signal: CumulativeSignal::None,
            draft: d,
        }
    }

    fn flagged(d: DraftFields) -> Vec<ReviewField> {
        check(&input(d), Conventions::builtin())
            .into_iter()
            .map(|f| f.field)
            .collect()
    }

    #[test]
    fn a_consistent_draft_is_not_flagged() {
        assert_eq!(flagged(draft()), vec![]);
    }

    #[test]
    fn inconsistencies_are_flagged() {
        use ReviewField as F;
        let mut d = draft();
        d.indicator_type = IndicatorType::Rate;
        let f = flagged(d);
        assert!(f.contains(&F::IndicatorType), "{f:?}");
        assert!(f.contains(&F::TemporalAggregation), "{f:?}");

        let mut d = draft();
        d.is_cumulative = true;
        d.time_basis = TimeBasis::Cumulative;
        let f = flagged(d);
        assert!(
            f.contains(&F::IsCumulative) && f.contains(&F::TimeBasis),
            "{f:?}"
        );

        let mut d = draft();
        d.is_currency_denominated = false;
        d.reporting_frequency = ReportingFrequency::Annual;
        assert_eq!(
            flagged(d),
            vec![F::IsCurrencyDenominated, F::ReportingFrequency]
        );

        let mut d = draft();
        d.family = Family::PriceValue;
        d.indicator_type = IndicatorType::Price;
        let f = flagged(d);
        assert!(f.contains(&F::Family), "strong stock evidence: {f:?}");
    }

    #[test]
    fn a_field_flagged_twice_is_one_flag_and_unknown_fields_are_rejected() {
        let i = input(draft());
        let dup = json!({"flags": [{"field": "family", "reason": "a"}, {"field": "indicator_type", "reason": "t"}, {"field": "family", "reason": "b"}], "confidence": 0.5, "reasoning": "r"});
        let out = BooleanReviewStage::parse_answer(&i, &dup).unwrap();
        let fields: Vec<(ReviewField, &str)> = out
            .flags
            .iter()
            .map(|f| (f.field, f.reason.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                (ReviewField::Family, "a"),
                (ReviewField::IndicatorType, "t")
            ]
        );
        let unknown = json!({"flags": [{"field": "colour", "reason": "a"}], "confidence": 0.5, "reasoning": "r"});
        let err = BooleanReviewStage::parse_answer(&i, &unknown).unwrap_err();
        assert!(err.reason.contains("flags[0]"), "{err}");
    }
}
