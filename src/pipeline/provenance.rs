//! Who answered a stage, and an answer with its provenance: what every stored stage result and
//! every final record says about itself.

use serde::{Deserialize, Serialize};

/// Who produced a stage result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Provider name (`rules`, `openai`, `anthropic`).
    pub provider: String,
    /// Model name (`rules-v1` for the rules engine).
    pub model: String,
    /// The rules engine stood in for an invalid or failed LLM answer.
    #[serde(default)]
    pub fallback: bool,
    /// LLM attempts made (1 for rules).
    #[serde(default = "one")]
    pub attempts: u32,
    /// Why this answerer was chosen, when a choice was made (the cascade: "rules confident
    /// 0.90 ≥ 0.80" or "rules unsure 0.50 < 0.80").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

fn one() -> u32 {
    1
}

impl Provenance {
    /// The rules engine answered directly.
    pub fn rules() -> Self {
        Self {
            provider: "rules".into(),
            model: super::RULES_MODEL.into(),
            fallback: false,
            attempts: 1,
            why: None,
        }
    }
}

/// A stage's answer with who produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answered<O> {
    /// The validated answer.
    pub output: O,
    /// Who produced it.
    pub provenance: Provenance,
}
