//! LLM flags shared by the commands that classify (`classify`, `all-in-one`, `eval`): flatten
//! [`LlmArgs`] into their argument structs and call [`LlmArgs::config`].

use crate::llm::config::{
    LlmConfig, LlmConfigError, LlmOverrides, LlmSection, OnLlmFailure, ProviderKind,
};
use clap::Args;

/// Provider, model, endpoint, budgets and cache (each also settable by environment variable and
/// under `llm:` in the YAML file; API keys only by environment: OPENAI_API_KEY,
/// ANTHROPIC_API_KEY).
#[derive(Debug, Clone, Default, Args)]
pub struct LlmArgs {
    /// Who answers the LLM-capable stages (normalization is always rules).
    #[arg(long, env = "RESTATE_CLASSIFY_PROVIDER", value_enum)]
    pub provider: Option<ProviderKind>,
    /// Model for every LLM stage (default gpt-4o-mini / claude-3-5-haiku-latest).
    #[arg(long, env = "RESTATE_CLASSIFY_MODEL")]
    pub model: Option<String>,
    /// Endpoint of the provider: an OpenAI-compatible base URL up to /v1 (Azure, Ollama, vLLM,
    /// LM Studio, OpenRouter, llm-sim), or Anthropic's base URL.
    #[arg(long, env = "RESTATE_CLASSIFY_LLM_BASE_URL", value_name = "URL")]
    pub llm_base_url: Option<String>,
    /// Requests per minute for the whole process, all stages and nodes together (0: unlimited;
    /// default 900).
    #[arg(long, env = "RESTATE_CLASSIFY_RPM", value_name = "N")]
    pub rpm: Option<u32>,
    /// Tokens per minute (0: unlimited; default 1000000).
    #[arg(long, env = "RESTATE_CLASSIFY_TPM", value_name = "N")]
    pub tpm: Option<u32>,
    /// Most LLM calls in flight (default 64).
    #[arg(long, env = "RESTATE_CLASSIFY_LLM_CONCURRENCY", value_name = "N")]
    pub llm_concurrency: Option<usize>,
    /// Ask the provider even when the same prompt was answered before (in this run or earlier).
    #[arg(long, env = "RESTATE_CLASSIFY_NO_CACHE")]
    pub no_cache: bool,
    /// When the LLM cannot answer a stage (retries spent, only invalid answers): `rules` lets the
    /// rules engine answer (recorded as a fallback); `fail` stores the indicator as failed with
    /// the reason, for `classify --retry-failed` later.
    #[arg(
        long,
        env = "RESTATE_CLASSIFY_ON_LLM_FAILURE",
        value_enum,
        value_name = "POLICY"
    )]
    pub on_llm_failure: Option<OnLlmFailure>,
}

impl LlmArgs {
    /// These flags as overrides.
    pub fn overrides(&self) -> LlmOverrides {
        LlmOverrides {
            provider: self.provider,
            model: self.model.clone(),
            base_url: self.llm_base_url.clone(),
            rpm: self.rpm,
            tpm: self.tpm,
            concurrency: self.llm_concurrency,
            no_cache: self.no_cache,
            on_failure: self.on_llm_failure,
        }
    }

    /// The resolved LLM configuration: these flags over the file's `llm:` section over defaults,
    /// keys from the process environment.
    pub fn config(&self, file: &LlmSection) -> Result<LlmConfig, LlmConfigError> {
        LlmConfig::resolve(file, &self.overrides(), &|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        llm: LlmArgs,
    }

    #[test]
    fn flags_parse_and_resolve() {
        let t = T::try_parse_from([
            "t",
            "--provider",
            "openai",
            "--llm-base-url",
            "http://127.0.0.1:9/v1",
            "--rpm",
            "120",
            "--no-cache",
            "--model",
            "llm-sim",
        ])
        .unwrap();
        let c = t.llm.config(&LlmSection::default()).unwrap();
        assert_eq!(c.stages.len(), 5);
        assert_eq!(c.openai.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(c.limiter.rpm, Some(120));
        assert!(!c.cache);
    }
}
