//! Pure, synchronous classification logic: the taxonomy, the indicator record, the six stages and
//! the rules engine. No I/O here; the service and LLM layers wrap it.
//!
//! # The path every classification takes
//!
//! The workflow and [`classify_with_rules`] run exactly these steps; at each stage the workflow
//! may ask an LLM instead of calling [`Stage::rules`] (every stage but normalization is an
//! [`LlmStage`]: build the [`Prompt`] with [`LlmStage::prompt`], validate the answer with
//! [`LlmStage::parse_answer`], fall back to `rules` after bounded retries):
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
pub mod answer;
pub mod boolean_review;
pub mod classification;
pub mod concept;
mod countries;
pub mod dates;
pub mod eval;
pub mod facts;
pub mod family_assignment;
pub mod final_review;
pub mod normalization;
pub mod orientation;
pub mod record;
pub mod stage;
pub mod taxonomy;
pub mod text;
pub mod time_inference;
pub mod type_classification;
pub mod units;
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
/// the module documentation).
pub fn classify_with_rules(record: &IndicatorRecord) -> Classification {
    let facts = IndicatorFacts::from_record(record);
    let norm = NormalizationStage::rules(&NormalizationInput::new(&facts));
    let time = TimeInferenceStage::rules(&TimeInput::new(&facts, &norm));
    let family = FamilyAssignmentStage::rules(&FamilyInput::new(&facts, &norm, &time));
    let typ = TypeClassificationStage::rules(&TypeInput::new(&facts, &norm, &time, &family));
    let draft = assemble(&norm, &time, &family, &typ);
    let review = BooleanReviewStage::rules(&ReviewInput::new(&facts, &norm, &draft));
    let draft = draft.with_review(&review);
    if !needs_final_review(&review) {
        return draft;
    }
    tracing::debug!(id = %record.id, flags = ?review.flags, "boolean review flagged fields");
    let fin = FinalReviewStage::rules(&FinalInput::new(&facts, &norm, &draft, &review));
    apply_final(draft, &fin)
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
