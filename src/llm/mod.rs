//! Who answers each stage: the rules engine or an LLM provider. The stage handlers ask the
//! [`Executor`] which it is (`choice`) and, for an LLM, call [`Executor::answer_for`] inside
//! `ctx.run` so that a paid answer is journaled once and never bought twice.
//!
//! One [`Executor`] per handler-server process holds the one [`limiter::Limiter`] (requests/min,
//! tokens/min, concurrency, adaptive back-off) that every stage and every Restate node shares,
//! the answer [`cache::Cache`] (single-flight + `llm_cache`), and the call accounting
//! (`llm_calls`, [`meter::LlmSummary`], live progress lines).

pub mod anthropic;
pub(crate) mod cache;
pub(crate) mod calls;
pub mod classify;
pub mod config;
mod executor;
pub(crate) mod feedback;
pub(crate) mod headers;
pub mod limiter;
pub(crate) mod meter;
pub mod openai;
pub mod provider;
pub mod secret;
pub(crate) mod tokens;

pub use config::{LlmConfig, LlmConfigError, LlmSettings, ProviderKind};
pub(crate) use executor::Verdict;
pub use executor::{Executor, Scope};
pub use meter::LlmSummary;

use crate::pipeline::stage::StageName;

/// Errors of an LLM answer that exhausted its own retries.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// No LLM provider is configured for the stage.
    #[error("no LLM provider configured for stage {0}")]
    NotConfigured(StageName),
    /// 429s, server errors, timeouts or transport errors until the retries ran out.
    #[error("{stage}: LLM gave up after {attempts} attempts: {reason}")]
    GaveUp {
        /// The stage.
        stage: StageName,
        /// Attempts made.
        attempts: u32,
        /// Last error (redacted).
        reason: String,
    },
    /// The provider rejected the request (bad key, unknown model, bad request).
    #[error("{stage}: LLM request rejected: {reason}")]
    Rejected {
        /// The stage.
        stage: StageName,
        /// Why (redacted).
        reason: String,
    },
}

/// Who answers a stage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) enum Choice {
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
pub type StageOutcome<O> = crate::pipeline::provenance::Answered<O>;
