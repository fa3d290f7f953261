//! The contract every pipeline stage implements, shared by the rules engine, the LLM providers,
//! the Restate handlers and the LLM simulator.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::fmt;

/// The six stages, in pipeline order. `as_str` is also the Restate service name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageName {
    /// Units, scale and currency (rules only).
    Normalization,
    /// Reporting frequency, time basis and cumulative/YTD detection.
    TimeInference,
    /// The indicator family.
    FamilyAssignment,
    /// Type, temporal aggregation and heat-map orientation.
    TypeClassification,
    /// Consistency check of the whole record.
    BooleanReview,
    /// Corrections for what the review flagged (runs only when something was flagged).
    FinalReview,
}

impl StageName {
    /// All stages in pipeline order.
    pub(crate) const ALL: [StageName; 6] = [
        StageName::Normalization,
        StageName::TimeInference,
        StageName::FamilyAssignment,
        StageName::TypeClassification,
        StageName::BooleanReview,
        StageName::FinalReview,
    ];

    /// Kebab-case name, also the Restate service name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StageName::Normalization => "normalization",
            StageName::TimeInference => "time-inference",
            StageName::FamilyAssignment => "family-assignment",
            StageName::TypeClassification => "type-classification",
            StageName::BooleanReview => "boolean-review",
            StageName::FinalReview => "final-review",
        }
    }

    /// Snake-case name used as the JSON-schema name of a structured-output answer.
    pub(crate) fn schema_name(self) -> &'static str {
        match self {
            StageName::Normalization => "normalization",
            StageName::TimeInference => "time_inference",
            StageName::FamilyAssignment => "family_assignment",
            StageName::TypeClassification => "type_classification",
            StageName::BooleanReview => "boolean_review",
            StageName::FinalReview => "final_review",
        }
    }

    /// Inverse of [`StageName::as_str`] and [`StageName::schema_name`].
    pub(crate) fn parse(s: &str) -> Option<StageName> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s || st.schema_name() == s)
    }
}

impl fmt::Display for StageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Marks the fenced JSON block in a prompt's user message that carries the stage input.
pub const INPUT_FENCE_OPEN: &str = "```json\n";
/// Closes the fenced input block.
pub const INPUT_FENCE_CLOSE: &str = "\n```";

/// A prompt for an LLM-capable stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prompt {
    /// The stage this prompt belongs to.
    pub stage: StageName,
    /// System prompt: identical for every indicator of a stage, so providers can cache it.
    pub system: String,
    /// User message: instructions plus the serialised stage input inside
    /// [`INPUT_FENCE_OPEN`] … [`INPUT_FENCE_CLOSE`] (the last such block in the message).
    pub user: String,
    /// JSON Schema of the answer, strict-mode compatible (every property required,
    /// `additionalProperties: false`).
    pub schema: serde_json::Value,
}

impl Prompt {
    /// This prompt again, telling the model why its last answer was rejected (the re-ask after
    /// an invalid answer). The input stays the last fenced block, so the answer is still for it.
    pub fn with_correction(&self, reason: &str) -> Prompt {
        let reason: String = reason.chars().take(400).collect();
        Prompt {
            user: format!(
                "Your previous answer to this was rejected: {reason}\nAnswer again, correcting that.\n\n{}",
                self.user
            ),
            ..self.clone()
        }
    }

    /// The stage input embedded in a user message, if any.
    pub fn extract_input(user: &str) -> Option<&str> {
        let start = user.rfind(INPUT_FENCE_OPEN)? + INPUT_FENCE_OPEN.len();
        let len = user[start..].find(INPUT_FENCE_CLOSE)?;
        Some(&user[start..start + len])
    }
}

/// Why an LLM answer was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid {stage} answer: {reason}")]
pub struct InvalidAnswer {
    /// The stage whose answer failed validation.
    pub stage: StageName,
    /// What is wrong with it.
    pub reason: String,
}

/// A pipeline stage: typed input and output and a deterministic rules answer.
pub trait Stage {
    /// Which stage this is.
    const NAME: StageName;
    /// What the stage needs to know. Kept compact: it is journaled by Restate on every call.
    type Input: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static;
    /// What the stage decides.
    type Output: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static;

    /// The rules engine's answer under the conventions `conv`: deterministic, offline, always
    /// inside the taxonomy.
    fn rules_with(input: &Self::Input, conv: &super::conventions::Conventions) -> Self::Output;

    /// The rules engine's answer under this process's conventions
    /// ([`super::conventions::effective`]).
    fn rules(input: &Self::Input) -> Self::Output {
        Self::rules_with(input, super::conventions::effective())
    }
}

/// A stage an LLM can answer.
pub trait LlmStage: Stage {
    /// The prompt for `input`. Inputs that must get the same answer give byte-identical prompts.
    fn prompt(input: &Self::Input) -> Prompt;

    /// Parses an answer and validates it against the taxonomy and the input.
    fn parse_answer(
        input: &Self::Input,
        answer: &serde_json::Value,
    ) -> Result<Self::Output, InvalidAnswer>;

    /// Renders an output as the JSON answer the schema describes; for every input `x`,
    /// `parse_answer(x, render_answer(rules(x))) == Ok(rules(x))`.
    fn render_answer(output: &Self::Output) -> serde_json::Value;

    /// How sure `output` is of its weakest decision, 0..1: what the cascade (`--llm-when
    /// uncertain`) compares with its threshold to decide whether the LLM is asked.
    fn confidence(output: &Self::Output) -> f64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_correction_names_the_reason_and_keeps_the_input_last() {
        let p = Prompt {
            stage: StageName::TimeInference,
            system: "s".into(),
            user: format!("task\n{INPUT_FENCE_OPEN}{{\"name\":\"GDP\"}}{INPUT_FENCE_CLOSE}"),
            schema: serde_json::json!({}),
        };
        let again = p.with_correction("\"confidence\" must be between 0 and 1, got 7.5");
        assert!(again.user.contains("got 7.5"), "{}", again.user);
        assert_eq!(
            Prompt::extract_input(&again.user),
            Some("{\"name\":\"GDP\"}")
        );
        assert_eq!(
            (again.system, again.schema, again.stage),
            (p.system, p.schema, p.stage)
        );
    }
}
