//! Stage 6, final review: runs only when the boolean review flagged something, and proposes
//! corrections for the flagged fields (and the fields that depend on them: a new family needs a
//! new type, a new type a new aggregation, orientation and currency flag, and the cumulative
//! flag moves with the time basis). Answers are re-validated against the taxonomy and the draft.

use super::aggregation;
use super::answer::{self, AnswerReader};
use super::boolean_review::{ReviewOutput, can_accumulate};
use super::classification::{
    Classification, Correction, DraftFields, FieldValue, ReviewField, ReviewFlag,
};
use super::concept;
use super::conventions::{self, Conventions};
use super::facts::IndicatorFacts;
use super::normalization::NormalizationOutput;
use super::orientation;
use super::stage::{InvalidAnswer, LlmStage, Prompt, Stage, StageName};
use super::taxonomy::{ReportingFrequency, TimeBasis};
use super::time_inference::{self, CumulativeSignal};
use super::view::IndicatorView;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The final-review stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct FinalReviewStage;

/// What the final review reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalInput {
    /// The country-agnostic view.
    pub indicator: IndicatorView,
    /// Cadence of the sample dates.
    pub observed_cadence: Option<ReportingFrequency>,
    /// Rules evidence of running totals.
    pub cumulative_signal: CumulativeSignal,
    /// The draft under review.
    pub draft: DraftFields,
    /// What the boolean review flagged.
    pub flags: Vec<ReviewFlag>,
}

impl FinalInput {
    /// Builds the input from facts, the normalization result, the draft and the review.
    pub(crate) fn new(
        facts: &IndicatorFacts,
        norm: &NormalizationOutput,
        draft: &Classification,
        review: &ReviewOutput,
    ) -> Self {
        FinalInput {
            indicator: IndicatorView::new(facts, norm),
            observed_cadence: facts.samples.cadence,
            cumulative_signal: time_inference::cumulative_signal(facts),
            draft: draft.fields(),
            flags: review.flags.clone(),
        }
    }

    /// Fields the final review may change: the flagged ones and their dependents.
    pub(crate) fn correctable(&self) -> BTreeSet<ReviewField> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<ReviewField> = self.flags.iter().map(|f| f.field).collect();
        while let Some(f) = todo.pop() {
            if out.insert(f) {
                todo.extend_from_slice(f.dependents());
            }
        }
        out
    }
}

/// What the final review decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalOutput {
    /// Changes to apply (each field at most once; only correctable fields).
    pub corrections: Vec<Correction>,
    /// Confidence (0..1) in the corrected fields.
    pub confidence: f64,
    /// Short reasoning.
    pub reasoning: String,
}

impl Stage for FinalReviewStage {
    const NAME: StageName = StageName::FinalReview;
    type Input = FinalInput;
    type Output = FinalOutput;

    fn rules_with(input: &FinalInput, conv: &super::conventions::Conventions) -> FinalOutput {
        rules_with(input, conv)
    }
}

/// The rules' corrections under the conventions `conv`.
pub(crate) fn rules_with(input: &FinalInput, conv: &Conventions) -> FinalOutput {
    use ReviewField as F;
    let can = input.correctable();
    let view = &input.indicator;
    let draft = input.draft;
    let mut fixed = draft;
    let mut why: Vec<(ReviewField, String)> = Vec::new();

    let verdict = concept::verdict(view, conv);
    if can.contains(&F::Family) {
        fixed.family = verdict.family();
        why.push((
            F::Family,
            format!("reads as a {}: {}", verdict.ty, verdict.why),
        ));
    }
    if can.contains(&F::IndicatorType) {
        let v = concept::type_within(fixed.family, view, conv);
        fixed.indicator_type = v.ty;
        why.push((F::IndicatorType, v.why.to_string()));
    }
    if can.contains(&F::IsCumulative) || can.contains(&F::TimeBasis) {
        let cumulative = input.cumulative_signal != CumulativeSignal::None
            && can_accumulate(fixed.indicator_type);
        fixed.is_cumulative = cumulative;
        fixed.time_basis = if cumulative {
            TimeBasis::Cumulative
        } else if super::boolean_review::is_period_type(fixed.indicator_type) {
            TimeBasis::PerPeriod
        } else if super::boolean_review::is_moment_type(fixed.indicator_type)
            || draft.time_basis == TimeBasis::Cumulative
        {
            TimeBasis::PointInTime
        } else {
            draft.time_basis
        };
        let reason = if cumulative {
            "values are running totals"
        } else {
            "values are not running totals"
        };
        why.push((F::IsCumulative, reason.into()));
        why.push((F::TimeBasis, reason.into()));
    }
    if can.contains(&F::TemporalAggregation) {
        let agg = aggregation::temporal_aggregation(
            fixed.indicator_type,
            view,
            fixed.is_cumulative,
            conv,
        );
        fixed.temporal_aggregation = agg.value;
        why.push((F::TemporalAggregation, agg.why.into()));
    }
    if can.contains(&F::HeatMapOrientation) {
        let o = orientation::orientation(fixed.indicator_type, view, conv);
        fixed.heat_map_orientation = o.value;
        why.push((F::HeatMapOrientation, o.why.into()));
    }
    if can.contains(&F::IsCurrencyDenominated) {
        fixed.is_currency_denominated = concept::currency(fixed.indicator_type, view, conv).value;
        why.push((
            F::IsCurrencyDenominated,
            "follows the units and the type".into(),
        ));
    }
    if can.contains(&F::ReportingFrequency)
        && let Some(observed) = input.observed_cadence
        && observed != ReportingFrequency::Irregular
    {
        fixed.reporting_frequency = observed;
        why.push((F::ReportingFrequency, "follows the sample dates".into()));
    }

    let corrections: Vec<Correction> = ReviewField::ALL
        .into_iter()
        .filter(|f| fixed.get(*f) != draft.get(*f))
        .map(|f| Correction {
            value: fixed.get(f),
            reason: why
                .iter()
                .find(|(wf, _)| *wf == f)
                .map_or_else(|| "rules".to_string(), |(_, w)| w.clone()),
        })
        .collect();
    let reasoning = if corrections.is_empty() {
        "the flagged fields are right as they are".to_string()
    } else {
        let names: Vec<&str> = corrections.iter().map(|c| c.field().as_str()).collect();
        format!("corrected {}", names.join(", "))
    };
    FinalOutput {
        corrections,
        confidence: if verdict.confidence >= 0.8 { 0.75 } else { 0.5 },
        reasoning,
    }
}

/// Validates corrections against the input: only correctable fields, each once, and the
/// corrected draft must not break the taxonomy where the corrections touch it.
pub(crate) fn validate(input: &FinalInput, corrections: &[Correction]) -> Result<(), String> {
    use ReviewField as F;
    let can = input.correctable();
    let mut seen = BTreeSet::new();
    let mut fixed = input.draft;
    for (i, c) in corrections.iter().enumerate() {
        let f = c.field();
        if !can.contains(&f) {
            return Err(format!(
                "corrections[{i}]: {f} was not flagged (correctable: {})",
                can.iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !seen.insert(f) {
            return Err(format!("corrections[{i}]: {f} is corrected twice"));
        }
        fixed.set(c.value);
    }
    let touched = |fs: &[ReviewField]| fs.iter().any(|f| seen.contains(f));
    if touched(&[F::Family, F::IndicatorType]) && !fixed.indicator_type.belongs_to(fixed.family) {
        return Err(format!(
            "after the corrections indicator_type {} does not belong to family {}",
            fixed.indicator_type, fixed.family
        ));
    }
    if touched(&[F::IsCumulative, F::TimeBasis])
        && fixed.is_cumulative != (fixed.time_basis == TimeBasis::Cumulative)
    {
        return Err(format!(
            "after the corrections is_cumulative is {} but time_basis is {}",
            fixed.is_cumulative, fixed.time_basis
        ));
    }
    Ok(())
}

const SYSTEM: &str = "You correct a draft classification of an economic indicator after a review flagged some of its fields.

{TAXONOMY}

{CONVENTIONS}

Rules:
1. Correct only the flagged fields and the fields that depend on them: a new family needs a type of that family; a new type may need a new temporal_aggregation, heat_map_orientation and is_currency_denominated; is_cumulative and time_basis change together (is_cumulative is true exactly when time_basis is cumulative).
2. Each correction gives the field, its new value in the taxonomy spelling (\"true\"/\"false\" for is_currency_denominated and is_cumulative) and a short reason.
3. If a flagged field is right after all, leave it out. An empty list keeps the draft.
4. indicator_type must belong to the (corrected) family.

Field values:
- family: {FAMILIES}
- indicator_type: {TYPES}
- temporal_aggregation: {AGGS}
- heat_map_orientation: {ORIENTATIONS}
- reporting_frequency: {FREQS}
- time_basis: {BASES}
- is_currency_denominated, is_cumulative: true, false";

fn system() -> String {
    use super::taxonomy::*;
    SYSTEM
        .replace("{TAXONOMY}", super::family_assignment::TAXONOMY_TEXT)
        .replace("{CONVENTIONS}", &conventions::effective().prompt_text())
        .replace("{FAMILIES}", &Family::names().join(", "))
        .replace("{TYPES}", &IndicatorType::names().join(", "))
        .replace("{AGGS}", &TemporalAggregation::names().join(", "))
        .replace("{ORIENTATIONS}", &HeatMapOrientation::names().join(", "))
        .replace("{FREQS}", &ReportingFrequency::names().join(", "))
        .replace("{BASES}", &TimeBasis::names().join(", "))
}

impl LlmStage for FinalReviewStage {
    fn prompt(input: &FinalInput) -> Prompt {
        answer::prompt(
            StageName::FinalReview,
            system(),
            "Correct the flagged fields of the draft classification.",
            input,
            schema(),
        )
    }

    fn parse_answer(input: &FinalInput, answer: &Value) -> Result<FinalOutput, InvalidAnswer> {
        let mut r = AnswerReader::new(StageName::FinalReview, answer)?;
        let items = r.array("corrections")?;
        let mut corrections = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            corrections.push(
                parse_correction(item).map_err(|e| r.error(format!("corrections[{i}]: {e}")))?,
            );
        }
        let confidence = r.confidence()?;
        let reasoning = r.reasoning()?;
        validate(input, &corrections).map_err(|e| r.error(e))?;
        r.finish()?;
        Ok(FinalOutput {
            corrections,
            confidence,
            reasoning,
        })
    }

    fn render_answer(output: &FinalOutput) -> Value {
        json!({
            "corrections": output
                .corrections
                .iter()
                .map(|c| json!({"field": c.field(), "value": c.value.to_string(), "reason": c.reason}))
                .collect::<Vec<_>>(),
            "confidence": output.confidence,
            "reasoning": output.reasoning,
        })
    }

    fn confidence(output: &FinalOutput) -> f64 {
        output.confidence
    }
}

fn parse_correction(item: &Value) -> Result<Correction, String> {
    let obj = item
        .as_object()
        .ok_or_else(|| format!("expected an object, got {}", answer::kind(item)))?;
    if let Some(extra) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "field" | "value" | "reason"))
    {
        return Err(format!("unexpected field \"{extra}\""));
    }
    let field = obj
        .get("field")
        .and_then(Value::as_str)
        .ok_or("\"field\" must be a string")?
        .parse::<ReviewField>()
        .map_err(|e| e.to_string())?;
    let value = obj
        .get("value")
        .and_then(Value::as_str)
        .ok_or("\"value\" must be a string")?;
    let reason = obj
        .get("reason")
        .and_then(Value::as_str)
        .ok_or("\"reason\" must be a string")?;
    if reason.trim().is_empty() {
        return Err(format!("the reason for {field} is empty"));
    }
    Ok(Correction {
        value: FieldValue::parse(field, value)?,
        reason: reason.to_string(),
    })
}

/// The answer schema (the same for every input).
pub(crate) fn schema() -> Value {
    // One alternative per field, its value an enum of that field's spellings: a grammar-bound
    // model cannot put a family name in temporal_aggregation (a 135M model did, in 20 of 38
    // invalid final reviews on llama.cpp, when `value` was a free string).
    let alternatives: Vec<Value> = ReviewField::ALL
        .iter()
        .map(|f| {
            answer::object_schema(vec![
                (
                    "field",
                    answer::enum_schema(&[f.as_str()], "the corrected field"),
                ),
                (
                    "value",
                    answer::enum_schema(&f.values(), "the new value, in the taxonomy spelling"),
                ),
                ("reason", answer::text_schema("why")),
            ])
        })
        .collect();
    answer::object_schema(vec![
        (
            "corrections",
            answer::array_schema(
                json!({ "anyOf": alternatives }),
                ReviewField::names().len(),
                "changes to flagged fields, each field at most once",
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
    use crate::pipeline::taxonomy::{
        Family, HeatMapOrientation, IndicatorType, TemporalAggregation, UnitType,
    };

    fn input(flags: &[ReviewField], cumulative: CumulativeSignal) -> FinalInput {
        FinalInput {
            indicator: IndicatorView {
                name: "Exports".into(),
                units: Some("currency million".into()),
                description: None,
                category: None,
                aggregation_method: None,
                unit_type: UnitType::CurrencyAmount,
                currency_amount: true,
                per: None,
                index_base: None,
                sign: SignPattern::NonNegative,
                magnitude: Magnitude::UpToMillion,
            },
            observed_cadence: Some(ReportingFrequency::Monthly),
            cumulative_signal: cumulative,
            draft: DraftFields {
                family: Family::PriceValue,
                indicator_type: IndicatorType::Price,
                temporal_aggregation: TemporalAggregation::PointInTime,
                heat_map_orientation: HeatMapOrientation::Neutral,
                is_currency_denominated: true,
                reporting_frequency: ReportingFrequency::Monthly,
                time_basis: TimeBasis::PointInTime,
                is_cumulative: false,
            },
            flags: flags
                .iter()
                .map(|f| ReviewFlag {
                    field: *f,
                    reason: "test".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_flagged_family_brings_a_consistent_type_and_aggregation() {
        let i = input(&[ReviewField::Family], CumulativeSignal::Named);
        let out = FinalReviewStage::rules(&i);
        let mut fixed = i.draft;
        for c in &out.corrections {
            fixed.set(c.value);
        }
        assert_eq!(fixed.family, Family::PhysicalFundamental);
        assert_eq!(fixed.indicator_type, IndicatorType::Flow);
        assert_eq!(fixed.temporal_aggregation, TemporalAggregation::PeriodTotal);
        assert_eq!(
            fixed.heat_map_orientation,
            HeatMapOrientation::HigherIsPositive
        );
        // The cumulative flag was not flagged, so it is not touched.
        assert!(!fixed.is_cumulative);
        let ans = FinalReviewStage::render_answer(&out);
        assert_eq!(FinalReviewStage::parse_answer(&i, &ans), Ok(out));
    }

    #[test]
    fn unflagged_or_inconsistent_corrections_are_rejected() {
        let i = input(&[ReviewField::HeatMapOrientation], CumulativeSignal::None);
        let ans = json!({"corrections": [{"field": "family", "value": "temporal", "reason": "x"}], "confidence": 0.5, "reasoning": "r"});
        let err = FinalReviewStage::parse_answer(&i, &ans).unwrap_err();
        assert!(err.reason.contains("family was not flagged"), "{err}");

        let i = input(&[ReviewField::Family], CumulativeSignal::None);
        let ans = json!({"corrections": [{"field": "family", "value": "temporal", "reason": "x"}], "confidence": 0.5, "reasoning": "r"});
        let err = FinalReviewStage::parse_answer(&i, &ans).unwrap_err();
        assert!(
            err.reason.contains("does not belong to family temporal"),
            "{err}"
        );

        let ans = json!({"corrections": [{"field": "family", "value": "sideways", "reason": "x"}], "confidence": 0.5, "reasoning": "r"});
        let err = FinalReviewStage::parse_answer(&i, &ans).unwrap_err();
        assert!(
            err.reason.contains("corrections[0]") && err.reason.contains("sideways"),
            "{err}"
        );

        let i = input(&[ReviewField::IsCumulative], CumulativeSignal::None);
        let ans = json!({"corrections": [{"field": "is_cumulative", "value": "true", "reason": "x"}], "confidence": 0.5, "reasoning": "r"});
        let err = FinalReviewStage::parse_answer(&i, &ans).unwrap_err();
        assert!(err.reason.contains("time_basis"), "{err}");
    }
}
