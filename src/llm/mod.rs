//! Who answers each stage: the rules engine or an LLM provider. The stage handlers ask the
//! [`Executor`] which it is (`choice`) and, for an LLM, call [`Executor::answer`] inside
//! `ctx.run` so that a paid answer is journaled once and never bought twice.

use crate::db::results::Provenance;
use crate::pipeline::stage::{LlmStage, Stage, StageName};
use std::collections::BTreeMap;

/// Errors of an LLM call that exhausted its own retries.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// No LLM provider is configured for the stage.
    #[error("no LLM provider configured for stage {0}")]
    NotConfigured(StageName),
}

/// Who answers a stage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Choice {
    /// The embedded rules engine (no `ctx.run` needed: deterministic and free).
    Rules,
    /// An LLM provider and model.
    Llm {
        /// Provider name.
        provider: String,
        /// Model name.
        model: String,
    },
}

/// A stage's answer with who produced it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StageOutcome<O> {
    /// The validated answer.
    pub output: O,
    /// Who produced it.
    pub provenance: Provenance,
}

/// Answers stages according to the configured providers.
#[derive(Debug, Default)]
pub struct Executor {
    choices: BTreeMap<StageName, Choice>,
}

impl Executor {
    /// Every stage answered by the rules engine.
    pub fn rules_only() -> Self {
        Self::default()
    }

    /// Who answers `stage` (normalization is always rules).
    pub fn choice(&self, stage: StageName) -> Choice {
        if stage == StageName::Normalization {
            return Choice::Rules;
        }
        self.choices.get(&stage).cloned().unwrap_or(Choice::Rules)
    }

    /// The rules engine's answer.
    pub fn rules<S: Stage>(input: &S::Input) -> StageOutcome<S::Output> {
        StageOutcome {
            output: S::rules(input),
            provenance: Provenance::rules(),
        }
    }

    /// An LLM's validated answer (retries and rules fallback included).
    pub async fn answer<S: LlmStage>(
        &self,
        _input: &S::Input,
    ) -> Result<StageOutcome<S::Output>, LlmError> {
        Err(LlmError::NotConfigured(S::NAME))
    }

    /// Provider and model per stage, for the run's record.
    pub fn describe(&self) -> BTreeMap<String, Choice> {
        StageName::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), self.choice(*s)))
            .collect()
    }
}
