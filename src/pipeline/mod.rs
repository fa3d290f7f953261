//! Pure, synchronous classification logic: the taxonomy, the indicator record, the six stages and
//! the rules engine. No I/O here; the service and LLM layers wrap it.
//!
//! # The path every classification takes
//!
//! Written once, in [`driver::drive`], generic over who answers a stage: the rules engine, the
//! LLM executor, or the workflow's calls to the stage services. Every stage but normalization
//! is an [`LlmStage`]: build the [`Prompt`] with [`LlmStage::prompt`], validate the answer with
//! [`LlmStage::parse_answer`], fall back to `rules` after bounded retries:
//!
//! ```text
//! facts  = IndicatorFacts::from_record(&record)
//! norm   = NormalizationStage::rules(&NormalizationInput::new(&facts))            // rules only
//! time   = TimeInferenceStage      (TimeInput::new(&facts, &norm))
//! family = FamilyAssignmentStage   (FamilyInput::new(&facts, &norm, &time))
//! typ    = TypeClassificationStage (TypeInput::new(&facts, &norm, &time, &family))
//! draft  = assemble(&norm, &time, &family, &typ)
//! review = BooleanReviewStage      (ReviewInput::new(&facts, &norm, &draft))
//! draft  = draft.with_review(&review)
//! final  = if needs_final_review(&review) {
//!              FinalReviewStage    (FinalInput::new(&facts, &norm, &draft, &review))
//!              → apply_final(draft, &final)
//!          } else { draft }
//! ```
//!
//! Stage inputs carry only the country-agnostic [`view::IndicatorView`] plus earlier outputs, so
//! the same concept across countries produces byte-identical prompts (the LLM cache key).

pub mod aggregation;
pub(crate) mod answer;
pub(crate) mod boolean_review;
pub mod classification;
pub(crate) mod concept;
pub mod conventions;
mod countries;
pub(crate) mod dates;
pub(crate) mod driver;
pub mod eval;
pub mod facts;
pub(crate) mod family_assignment;
pub(crate) mod final_review;
pub(crate) mod normalization;
pub(crate) mod orientation;
pub(crate) mod provenance;
pub mod record;
pub mod stage;
pub mod taxonomy;
pub(crate) mod text;
pub mod time_inference;
pub(crate) mod type_classification;
pub(crate) mod units;
pub mod view;

pub use boolean_review::{BooleanReviewStage, ReviewInput, ReviewOutput};
pub use classification::{Classification, apply_final, assemble, needs_final_review};
pub use facts::IndicatorFacts;
pub use family_assignment::{FamilyAssignmentStage, FamilyInput, FamilyOutput};
pub use final_review::{FinalInput, FinalOutput, FinalReviewStage};
pub use normalization::{NormalizationInput, NormalizationOutput, NormalizationStage};
pub use record::{IndicatorRecord, SamplePoint};
pub use stage::{InvalidAnswer, LlmStage, Prompt, Stage, StageName};
pub use time_inference::{TimeInferenceStage, TimeInput, TimeOutput};
pub use type_classification::{TypeClassificationStage, TypeInput, TypeOutput};

use serde::de::DeserializeOwned;

/// Classifies one record with the rules engine, along exactly the path the workflow takes (see
/// the module documentation), under this process's [`conventions::effective`] table.
pub fn classify_with_rules(record: &IndicatorRecord) -> Classification {
    classify_with_conventions(record, conventions::effective())
}

/// [`classify_with_rules`] under an explicit conventions table (a house's overrides, in tests
/// and `eval`), without touching the process's table.
pub fn classify_with_conventions(
    record: &IndicatorRecord,
    conv: &conventions::Conventions,
) -> Classification {
    let facts = IndicatorFacts::from_record(record);
    let norm = NormalizationStage::rules(&NormalizationInput::new(&facts));
    match driver::now(driver::drive(
        &mut driver::Rules::with(conv),
        &facts,
        &norm,
        provenance::Provenance::rules(),
    )) {
        Ok(driven) => driven.classification,
        Err(never) => match never {},
    }
}

/// The rules engine's answer to a stage request, rendered as the LLM answer JSON: deserialises
/// `input_json` as that stage's input, runs its rules and renders the output (normalization,
/// which no LLM answers, renders its output's serde form). Used by the LLM simulator.
pub fn rules_answer(
    stage: StageName,
    input_json: &str,
) -> Result<serde_json::Value, InvalidAnswer> {
    fn llm<S: LlmStage>(input_json: &str) -> Result<serde_json::Value, InvalidAnswer> {
        let input: S::Input = parse_input::<S::Input>(S::NAME, input_json)?;
        Ok(S::render_answer(&S::rules(&input)))
    }
    match stage {
        StageName::Normalization => {
            let input: NormalizationInput = parse_input(stage, input_json)?;
            serde_json::to_value(NormalizationStage::rules(&input))
                .map_err(|e| answer::invalid(stage, format!("cannot render the output: {e}")))
        }
        StageName::TimeInference => llm::<TimeInferenceStage>(input_json),
        StageName::FamilyAssignment => llm::<FamilyAssignmentStage>(input_json),
        StageName::TypeClassification => llm::<TypeClassificationStage>(input_json),
        StageName::BooleanReview => llm::<BooleanReviewStage>(input_json),
        StageName::FinalReview => llm::<FinalReviewStage>(input_json),
    }
}

fn parse_input<T: DeserializeOwned>(
    stage: StageName,
    input_json: &str,
) -> Result<T, InvalidAnswer> {
    serde_json::from_str(input_json)
        .map_err(|e| answer::invalid(stage, format!("the input is not a {stage} input: {e}")))
}

/// Model name recorded for answers of the rules engine.
pub const RULES_MODEL: &str = "rules-v1";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::classification::ReviewField;
    use crate::pipeline::taxonomy::{Family, IndicatorType, TemporalAggregation, TimeBasis};

    fn monthly(name: &str, units: &str, f: impl Fn(usize) -> f64) -> IndicatorRecord {
        IndicatorRecord {
            id: "x".into(),
            name: name.into(),
            units: Some(units.into()),
            periodicity: Some("Monthly".into()),
            sample_values: (0..24)
                .map(|i| SamplePoint {
                    date: format!("{}-{:02}", 2022 + i / 12, i % 12 + 1),
                    value: f(i),
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn ytd_flows_are_period_cumulative_without_review() {
        let c = classify_with_rules(&monthly("Exports", "USD Million", |i| {
            100.0 * (i % 12 + 1) as f64
        }));
        assert_eq!(c.indicator_type, IndicatorType::Flow);
        assert!(c.is_cumulative);
        assert_eq!(
            c.temporal_aggregation,
            TemporalAggregation::PeriodCumulative
        );
        assert!(c.review_flags.is_empty(), "{:?}", c.review_flags);
    }

    #[test]
    fn a_level_with_reset_looking_samples_is_reviewed_and_corrected() {
        // Reserves that happen to fall each January look like running totals to the sample
        // rules; a stock cannot be one, so the review flags it and the final review fixes it.
        let c = classify_with_rules(&monthly("Foreign Exchange Reserves", "USD Million", |i| {
            100.0 * (i % 12 + 1) as f64
        }));
        assert_eq!(c.family, Family::PhysicalFundamental);
        assert_eq!(c.indicator_type, IndicatorType::Stock);
        let flagged: Vec<ReviewField> = c.review_flags.iter().map(|f| f.field).collect();
        assert_eq!(
            flagged,
            vec![ReviewField::TimeBasis, ReviewField::IsCumulative]
        );
        assert!(!c.is_cumulative);
        assert_eq!(c.time_basis, TimeBasis::PointInTime);
        assert_eq!(c.corrections.len(), 2, "{:?}", c.corrections);
        assert!(c.confidence.time_basis < 0.9);
    }

    #[test]
    fn rules_answer_serves_every_stage_and_rejects_foreign_input() {
        let facts = IndicatorFacts::from_record(&monthly("Interest Rate", "%", |_| 5.0));
        let norm_in = NormalizationInput::new(&facts);
        let norm_json = serde_json::to_string(&norm_in).unwrap();
        let v = rules_answer(StageName::Normalization, &norm_json).unwrap();
        assert_eq!(v["unit_type"], "percentage");
        let norm = NormalizationStage::rules(&norm_in);
        let time_in = TimeInput::new(&facts, &norm);
        let v = rules_answer(
            StageName::TimeInference,
            &serde_json::to_string(&time_in).unwrap(),
        )
        .unwrap();
        assert_eq!(v["reporting_frequency"], "monthly");
        let err = rules_answer(StageName::FamilyAssignment, &norm_json).unwrap_err();
        assert_eq!(err.stage, StageName::FamilyAssignment);
        assert!(
            err.reason.contains("not a family-assignment input"),
            "{err}"
        );
    }
}
