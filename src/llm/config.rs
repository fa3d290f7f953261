//! LLM settings: the `llm:` section of the YAML file, the flag/env overrides, and the resolved
//! [`LlmConfig`] the executor is built from (defaults < YAML < env < flags, as everywhere).
//!
//! API keys come from the environment only (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, or the
//! variable named by `api-key-env`), never from flags (visible in `ps`) or the YAML file.

use super::anthropic::{AnthropicSettings, DEFAULT_VERSION};
use super::limiter::LimiterConfig;
use super::openai::{MaxTokensParam, OpenAiAuth, OpenAiSettings};
use super::provider::Usage;
use super::secret::ApiKey;
use crate::pipeline::stage::StageName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Who answers LLM-capable stages.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// The embedded rules engine (offline, deterministic, free).
    Rules,
    /// Any OpenAI-compatible chat-completions endpoint.
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
}

impl ProviderKind {
    /// The provider's name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Rules => "rules",
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }
}

/// Default OpenAI endpoint.
pub(crate) const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Default Anthropic endpoint.
pub(crate) const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// Default OpenAI model.
pub(crate) const OPENAI_MODEL: &str = "gpt-4o-mini";
/// Default Anthropic model.
pub(crate) const ANTHROPIC_MODEL: &str = "claude-3-5-haiku-latest";

/// Prices of a model in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Price {
    /// Uncached input.
    pub input: f64,
    /// Output.
    pub output: f64,
    /// Input read from the provider's prompt cache (defaults to `input`).
    #[serde(default)]
    pub cached_input: Option<f64>,
}

/// Prices by model name; a model matches its exact name, else the longest name it starts with
/// (`gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceTable(pub BTreeMap<String, Price>);

impl PriceTable {
    /// List prices of a few common models (USD per 1M tokens, as published in 2025; override
    /// or extend them under `llm.prices`). The simulator's answers cost nothing.
    pub(crate) fn defaults() -> Self {
        let p = |input, output, cached: f64| Price {
            input,
            output,
            cached_input: Some(cached),
        };
        Self(BTreeMap::from([
            ("gpt-4o-mini".to_string(), p(0.15, 0.60, 0.075)),
            ("gpt-4o".to_string(), p(2.50, 10.00, 1.25)),
            ("gpt-4.1-mini".to_string(), p(0.40, 1.60, 0.10)),
            ("gpt-4.1-nano".to_string(), p(0.10, 0.40, 0.025)),
            ("claude-3-5-haiku".to_string(), p(0.80, 4.00, 0.08)),
            ("llm-sim".to_string(), p(0.0, 0.0, 0.0)),
        ]))
    }

    /// The price of `model`.
    pub(crate) fn get(&self, model: &str) -> Option<&Price> {
        self.0.get(model).or_else(|| {
            self.0
                .iter()
                .filter(|(name, _)| model.starts_with(name.as_str()))
                .max_by_key(|(name, _)| name.len())
                .map(|(_, p)| p)
        })
    }

    /// Estimated cost of `usage` on `model` (None when unpriced).
    pub(crate) fn cost(&self, model: &str, usage: Usage) -> Option<f64> {
        let p = self.get(model)?;
        let cached = usage.cached.min(usage.input);
        let fresh = usage.input - cached;
        Some(
            (fresh as f64 * p.input
                + cached as f64 * p.cached_input.unwrap_or(p.input)
                + usage.output as f64 * p.output)
                / 1e6,
        )
    }
}

settings_section! {
    /// `llm.openai`.
    #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
    #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
    pub struct OpenAiSection {
        /// Base URL up to `/v1`.
        pub base_url: Option<String>,
        /// Default model for stages answered by this provider.
        pub model: Option<String>,
        /// Environment variable holding the key (default `OPENAI_API_KEY`).
        pub api_key_env: Option<String>,
        /// `bearer` or `api-key` (Azure).
        pub auth: Option<OpenAiAuth>,
        /// `api-version` query parameter (Azure's dated APIs).
        pub api_version: Option<String>,
        /// `max-tokens` or `max-completion-tokens`.
        pub max_tokens_param: Option<MaxTokensParam>,
    }
}

settings_section! {
    /// `llm.anthropic`.
    #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
    #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
    pub struct AnthropicSection {
        /// Base URL (without `/v1`).
        pub base_url: Option<String>,
        /// Default model for stages answered by this provider.
        pub model: Option<String>,
        /// Environment variable holding the key (default `ANTHROPIC_API_KEY`).
        pub api_key_env: Option<String>,
        /// `anthropic-version` header (default 2023-06-01).
        pub version: Option<String>,
    }
}

settings_section! {
    /// `llm.stages.<stage>`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
    #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
    pub struct StageSection {
        /// Provider for this stage.
        pub provider: Option<ProviderKind>,
        /// Model for this stage.
        pub model: Option<String>,
    }
}

/// `--no-cache` (or `RESTATE_CLASSIFY_NO_CACHE=1`) as the `cache` setting: `Some(false)`.
fn parse_no_cache(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "on" => Ok(false),
        "0" | "false" | "no" | "off" => Ok(true),
        other => Err(format!("expected true or false, not {other:?}")),
    }
}

settings_section! {
    /// The `llm:` section and the LLM flags of the commands that classify (`classify`,
    /// `all-in-one`, `eval`, `bench`, `serve`). API keys only come from the environment
    /// (OPENAI_API_KEY, ANTHROPIC_API_KEY, or the variable `api-key-env` names).
    #[derive(Debug, Clone, Default, PartialEq, Deserialize, clap::Args)]
    #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
    pub struct LlmSettings {
        /// Who answers the LLM-capable stages (normalization is always rules; default rules).
        #[arg(long, env = "RESTATE_CLASSIFY_PROVIDER", value_enum)]
        pub provider: Option<ProviderKind>,
        /// Model for every LLM stage (default gpt-4o-mini / claude-3-5-haiku-latest).
        #[arg(long, env = "RESTATE_CLASSIFY_MODEL")]
        pub model: Option<String>,
        /// Endpoint of the provider in use: an OpenAI-compatible base URL up to /v1 (Azure,
        /// Ollama, vLLM, LM Studio, OpenRouter, llama.cpp, llm-sim), or Anthropic's base URL.
        #[arg(long = "llm-base-url", env = "RESTATE_CLASSIFY_LLM_BASE_URL", value_name = "URL")]
        pub base_url: Option<String>,
        /// Requests per minute for the whole process, all stages and nodes together (0:
        /// unlimited; default 900).
        #[arg(long, env = "RESTATE_CLASSIFY_RPM", value_name = "N")]
        pub rpm: Option<u32>,
        /// Tokens per minute (0: unlimited; default 1000000).
        #[arg(long, env = "RESTATE_CLASSIFY_TPM", value_name = "N")]
        pub tpm: Option<u32>,
        /// Most LLM calls in flight (default 64).
        #[arg(long = "llm-concurrency", env = "RESTATE_CLASSIFY_LLM_CONCURRENCY", value_name = "N")]
        pub concurrency: Option<usize>,
        /// Fraction of the budgets to use (0.5–1.0, default 0.97).
        #[arg(skip)]
        pub headroom: Option<f64>,
        /// Timeout of one HTTP call to the provider, seconds (default 60; a slow local server
        /// needs minutes).
        #[arg(long = "llm-timeout-s", env = "RESTATE_CLASSIFY_LLM_TIMEOUT_S", value_name = "SECS")]
        pub timeout_s: Option<f64>,
        /// Attempts per answer on 429s, 5xx, timeouts and transport errors.
        #[arg(skip)]
        pub max_attempts: Option<u32>,
        /// Invalid answers tolerated per answer before the rules engine stands in.
        #[arg(skip)]
        pub max_invalid: Option<u32>,
        /// Most output tokens per answer.
        #[arg(skip)]
        pub max_output_tokens: Option<u32>,
        /// Use the answer cache (default true). `--no-cache` asks the provider even when the
        /// same prompt was answered before (in this run or earlier).
        #[arg(
            long = "no-cache",
            env = "RESTATE_CLASSIFY_NO_CACHE",
            num_args = 0..=1,
            default_missing_value = "true",
            value_parser = parse_no_cache,
            value_name = "BOOL"
        )]
        pub cache: Option<bool>,
        /// Longest a call should queue for budget, seconds (the admission window shrinks to
        /// keep it; well under Restate's inactivity timeout).
        #[arg(skip)]
        pub max_wait_s: Option<f64>,
        /// OpenAI-compatible endpoint.
        #[arg(skip)]
        pub openai: OpenAiSection,
        /// Anthropic endpoint.
        #[arg(skip)]
        pub anthropic: AnthropicSection,
        /// Per-stage provider and model (keys: `time-inference`, `family-assignment`, …).
        #[arg(skip)]
        pub stages: BTreeMap<String, StageSection>,
        /// Prices per model, USD per 1M tokens (merged over the built-in table).
        #[arg(skip)]
        pub prices: BTreeMap<String, Price>,
        /// When the LLM cannot answer a stage (retries spent, only invalid answers): `rules`
        /// lets the rules engine answer (recorded as a fallback); `fail` stores the indicator as
        /// failed with the reason, for `classify --retry-failed` later.
        #[arg(long = "on-llm-failure", env = "RESTATE_CLASSIFY_ON_LLM_FAILURE", value_enum, value_name = "POLICY")]
        pub on_failure: Option<OnLlmFailure>,
        /// When an LLM stage asks the LLM: `uncertain` (default: only where the rules engine's
        /// confidence for the stage is below `cascade-threshold`), or `all` (every answer).
        #[arg(long = "llm-when", env = "RESTATE_CLASSIFY_LLM_WHEN", value_enum, value_name = "WHEN")]
        pub cascade: Option<LlmWhen>,
        /// The rules confidence below which `--llm-when uncertain` asks the LLM (default 0.8:
        /// rules answers at 0.8 and above were 99.6–99.8 % right in calibration, below 92–95 %).
        #[arg(long = "llm-threshold", env = "RESTATE_CLASSIFY_LLM_THRESHOLD", value_name = "X")]
        pub cascade_threshold: Option<f64>,
    }
}

/// When an LLM-capable stage asks the LLM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LlmWhen {
    /// Every answer of an LLM stage comes from the LLM (the cache, the rules standing in when
    /// it gives up).
    All,
    /// The rules answer first; the LLM is asked only where their confidence is below the
    /// threshold (a cascade). The default: the rules' confident answers are as good as an
    /// LLM's would need to be, and a tenth of the price.
    #[default]
    Uncertain,
}

impl LlmSettings {
    /// Flags over the file: as [`LlmSettings::over`], and a provider or model given as a flag
    /// is every stage's, the file's per-stage choices included (`--provider openai` means all
    /// LLM-capable stages).
    pub(crate) fn flags_over(self, mut file: Self) -> Self {
        for stage in file.stages.values_mut() {
            if self.provider.is_some() {
                stage.provider = None;
            }
            if self.model.is_some() {
                stage.model = None;
            }
        }
        self.over(file)
    }
}

/// What a stage does when the LLM gives up (retries spent, or only invalid answers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OnLlmFailure {
    /// The rules engine answers; the stored provenance says `fallback`.
    #[default]
    Rules,
    /// The indicator is stored as `failed` with the reason; `classify --retry-failed` retries it.
    Fail,
}

/// Retries of one answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts on 429s, 5xx, timeouts and transport errors.
    pub max_attempts: u32,
    /// Invalid answers tolerated before the rules engine stands in.
    pub max_invalid: u32,
    /// First back-off (full jitter, doubling).
    pub base_delay: Duration,
    /// Longest back-off.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            max_invalid: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// Who answers one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRoute {
    /// Provider.
    pub provider: ProviderKind,
    /// Model.
    pub model: String,
}

/// `max-output-tokens` when unset: above every stage's answer bound (a unit test in
/// `llm::tokens` checks), so the bound, not the cap, sizes each call's `max_tokens`.
pub(crate) const DEFAULT_MAX_OUTPUT_TOKENS: u32 = 2048;

/// The resolved LLM configuration.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// LLM stages and who answers them (stages not listed use the rules engine).
    pub stages: BTreeMap<StageName, StageRoute>,
    /// OpenAI-compatible endpoint.
    pub openai: OpenAiSettings,
    /// Anthropic endpoint.
    pub anthropic: AnthropicSettings,
    /// Budgets.
    pub limiter: LimiterConfig,
    /// Retries.
    pub retry: RetryPolicy,
    /// Most output tokens per answer.
    pub max_output_tokens: u32,
    /// Use the cache.
    pub cache: bool,
    /// Longest a call should queue for budget.
    pub max_wait: Duration,
    /// Prices.
    pub prices: PriceTable,
    /// What a stage does when the LLM gives up.
    pub on_failure: OnLlmFailure,
    /// `--llm-when uncertain`: the rules confidence below which the LLM is asked (None: always).
    pub cascade: Option<f64>,
}

/// Errors in the LLM settings.
#[derive(Debug, thiserror::Error)]
pub enum LlmConfigError {
    /// A stage name under `llm.stages` is not a stage.
    #[error(
        "llm.stages.{0}: unknown stage (expected one of: time-inference, family-assignment, type-classification, boolean-review, final-review)"
    )]
    UnknownStage(String),
    /// Normalization was given an LLM provider.
    #[error("llm.stages.normalization: normalization is always answered by the rules engine")]
    NormalizationIsRules,
    /// A provider needs a key that is not set.
    #[error("the {provider} provider at {base_url} needs an API key: set {env}")]
    MissingKey {
        /// Provider.
        provider: &'static str,
        /// Endpoint.
        base_url: String,
        /// The variable to set.
        env: String,
    },
    /// A number is out of range.
    #[error("llm.{field}: {reason}")]
    Invalid {
        /// Which setting.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A base URL does not parse.
    #[error("{field}: {url:?} is not a valid URL: {source}")]
    Url {
        /// Which setting.
        field: &'static str,
        /// The value.
        url: String,
        /// Why.
        source: url::ParseError,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(String),
}

/// The cascade's default threshold (see `LlmSettings::cascade_threshold`).
pub(crate) const DEFAULT_CASCADE_THRESHOLD: f64 = 0.8;

/// The LLM-capable stages in pipeline order.
pub(crate) const LLM_STAGES: [StageName; 5] = [
    StageName::TimeInference,
    StageName::FamilyAssignment,
    StageName::TypeClassification,
    StageName::BooleanReview,
    StageName::FinalReview,
];

fn check_url(field: &'static str, url: &str) -> Result<String, LlmConfigError> {
    url::Url::parse(url).map_err(|source| LlmConfigError::Url {
        field,
        url: url.to_string(),
        source,
    })?;
    Ok(url.trim_end_matches('/').to_string())
}

impl LlmConfig {
    /// Everything answered by the rules engine.
    pub(crate) fn rules_only() -> Self {
        Self::resolve(&LlmSettings::default(), &|_| None)
            .unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }

    /// `s` (flags over the file, already merged) over defaults; `env` looks up API keys and
    /// the conventional `OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL` (used below the YAML value).
    pub fn resolve(
        s: &LlmSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, LlmConfigError> {
        let file = s;
        let default_provider = s.provider.unwrap_or(ProviderKind::Rules);

        // Endpoints.
        let url_override = |kind: ProviderKind| {
            let target = if default_provider == ProviderKind::Rules {
                ProviderKind::Openai
            } else {
                default_provider
            };
            s.base_url.clone().filter(|_| target == kind)
        };
        let openai_base = url_override(ProviderKind::Openai)
            .or_else(|| file.openai.base_url.clone())
            .or_else(|| env("OPENAI_BASE_URL"))
            .unwrap_or_else(|| OPENAI_BASE_URL.to_string());
        let anthropic_base = url_override(ProviderKind::Anthropic)
            .or_else(|| file.anthropic.base_url.clone())
            .or_else(|| env("ANTHROPIC_BASE_URL"))
            .unwrap_or_else(|| ANTHROPIC_BASE_URL.to_string());
        let openai_base = check_url("llm.openai.base-url", &openai_base)?;
        let anthropic_base = check_url("llm.anthropic.base-url", &anthropic_base)?;
        let openai_key_env = file
            .openai
            .api_key_env
            .clone()
            .unwrap_or_else(|| "OPENAI_API_KEY".into());
        let anthropic_key_env = file
            .anthropic
            .api_key_env
            .clone()
            .unwrap_or_else(|| "ANTHROPIC_API_KEY".into());

        let timeout_s = file.timeout_s.unwrap_or(60.0);
        if !(timeout_s.is_finite() && timeout_s > 0.0) {
            return Err(LlmConfigError::Invalid {
                field: "timeout-s",
                reason: "must be positive".into(),
            });
        }
        let timeout = Duration::from_secs_f64(timeout_s);

        // Stages.
        for name in file.stages.keys() {
            match StageName::parse(name) {
                None => return Err(LlmConfigError::UnknownStage(name.clone())),
                Some(StageName::Normalization)
                    if file.stages[name]
                        .provider
                        .is_some_and(|p| p != ProviderKind::Rules) =>
                {
                    return Err(LlmConfigError::NormalizationIsRules);
                }
                Some(_) => {}
            }
        }
        let stage_section = |stage: StageName| {
            file.stages
                .iter()
                .find(|(k, _)| StageName::parse(k) == Some(stage))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut stages = BTreeMap::new();
        for stage in LLM_STAGES {
            let section = stage_section(stage);
            // `--provider` (or `llm.provider`) is the default; a stage's own setting wins.
            let provider = section.provider.unwrap_or(default_provider);
            let provider_model = match provider {
                ProviderKind::Rules => continue,
                ProviderKind::Openai => file
                    .openai
                    .model
                    .clone()
                    .unwrap_or_else(|| OPENAI_MODEL.into()),
                ProviderKind::Anthropic => file
                    .anthropic
                    .model
                    .clone()
                    .unwrap_or_else(|| ANTHROPIC_MODEL.into()),
            };
            let model = section
                .model
                .or_else(|| file.model.clone())
                .unwrap_or(provider_model);
            stages.insert(stage, StageRoute { provider, model });
        }

        let uses = |kind: ProviderKind| stages.values().any(|r| r.provider == kind);
        let openai_key = env(&openai_key_env).and_then(ApiKey::new);
        let anthropic_key = env(&anthropic_key_env).and_then(ApiKey::new);
        if uses(ProviderKind::Openai) && openai_key.is_none() && openai_base == OPENAI_BASE_URL {
            return Err(LlmConfigError::MissingKey {
                provider: "openai",
                base_url: openai_base,
                env: openai_key_env,
            });
        }
        if uses(ProviderKind::Anthropic)
            && anthropic_key.is_none()
            && anthropic_base == ANTHROPIC_BASE_URL
        {
            return Err(LlmConfigError::MissingKey {
                provider: "anthropic",
                base_url: anthropic_base,
                env: anthropic_key_env,
            });
        }

        let headroom = file.headroom.unwrap_or(0.97);
        if !(0.5..=1.0).contains(&headroom) {
            return Err(LlmConfigError::Invalid {
                field: "headroom",
                reason: "must be between 0.5 and 1.0".into(),
            });
        }
        let concurrency = file.concurrency.unwrap_or(64);
        if concurrency == 0 {
            return Err(LlmConfigError::Invalid {
                field: "concurrency",
                reason: "must be at least 1".into(),
            });
        }
        let max_wait_s = file.max_wait_s.unwrap_or(20.0);
        if !(max_wait_s.is_finite() && max_wait_s > 0.0) {
            return Err(LlmConfigError::Invalid {
                field: "max-wait-s",
                reason: "must be positive".into(),
            });
        }
        let threshold = file.cascade_threshold.unwrap_or(DEFAULT_CASCADE_THRESHOLD);
        if !(0.0..=1.0).contains(&threshold) {
            return Err(LlmConfigError::Invalid {
                field: "cascade-threshold",
                reason: format!("{threshold} is not between 0 and 1"),
            });
        }
        let cascade = (file.cascade.unwrap_or_default() == LlmWhen::Uncertain).then_some(threshold);
        let defaults = RetryPolicy::default();
        let retry = RetryPolicy {
            max_attempts: file.max_attempts.unwrap_or(defaults.max_attempts).max(1),
            max_invalid: file.max_invalid.unwrap_or(defaults.max_invalid).max(1),
            ..defaults
        };
        let mut prices = PriceTable::defaults();
        prices.0.extend(file.prices.clone());
        let nonzero = |n: u32| (n > 0).then_some(n);

        Ok(Self {
            stages,
            openai: OpenAiSettings {
                base_url: openai_base,
                api_key: openai_key,
                auth: file.openai.auth.unwrap_or_default(),
                api_version: file.openai.api_version.clone(),
                max_tokens_param: file.openai.max_tokens_param.unwrap_or_default(),
                timeout,
            },
            anthropic: AnthropicSettings {
                base_url: anthropic_base,
                api_key: anthropic_key,
                version: file
                    .anthropic
                    .version
                    .clone()
                    .unwrap_or_else(|| DEFAULT_VERSION.into()),
                timeout,
            },
            limiter: LimiterConfig {
                rpm: nonzero(file.rpm.unwrap_or(900)),
                tpm: nonzero(file.tpm.unwrap_or(1_000_000)),
                concurrency,
                headroom,
            },
            retry,
            max_output_tokens: file
                .max_output_tokens
                .unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS)
                .max(16),
            cache: file.cache.unwrap_or(true),
            max_wait: Duration::from_secs_f64(max_wait_s),
            prices,
            on_failure: file.on_failure.unwrap_or_default(),
            cascade,
        })
    }

    /// Every LLM-capable stage answered by `provider`/`model` at `base_url` (keyless): how tests
    /// and benchmarks point the executor at `llm-sim`.
    pub fn for_endpoint(
        provider: ProviderKind,
        base_url: &str,
        model: &str,
    ) -> Result<Self, LlmConfigError> {
        let settings = LlmSettings {
            provider: Some(provider),
            model: Some(model.to_string()),
            base_url: Some(base_url.to_string()),
            ..Default::default()
        };
        Self::resolve(&settings, &|_| None)
    }

    /// Whether any stage uses an LLM.
    pub(crate) fn uses_llm(&self) -> bool {
        !self.stages.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `llm:` section of a YAML document.
    fn parse(text: &str) -> Result<LlmSettings, serde_yaml::Error> {
        #[derive(Deserialize)]
        struct File {
            llm: LlmSettings,
        }
        serde_yaml::from_str::<File>(text).map(|f| f.llm)
    }

    fn yaml(text: &str) -> LlmSettings {
        parse(text).unwrap()
    }

    fn env_with(key: &'static str, value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |k| (k == key).then(|| value.to_string())
    }

    #[test]
    fn defaults_are_rules_only() {
        let c = LlmConfig::rules_only();
        assert!(!c.uses_llm());
        assert!(c.cache);
        assert_eq!(c.limiter.rpm, Some(900));
    }

    #[test]
    fn per_stage_choice_and_flag_precedence() {
        let file = yaml(
            "llm:\n  provider: openai\n  openai:\n    base-url: http://127.0.0.1:1/v1\n  stages:\n    family-assignment:\n      provider: anthropic\n      model: claude-x\n    boolean_review:\n      provider: rules\n  rpm: 100\n",
        );
        let c = LlmConfig::resolve(&file, &env_with("ANTHROPIC_API_KEY", "k")).unwrap();
        assert_eq!(
            c.stages[&StageName::FamilyAssignment],
            StageRoute {
                provider: ProviderKind::Anthropic,
                model: "claude-x".into()
            }
        );
        assert_eq!(c.stages[&StageName::TimeInference].model, OPENAI_MODEL);
        assert!(!c.stages.contains_key(&StageName::BooleanReview));
        assert!(!c.stages.contains_key(&StageName::Normalization));
        assert_eq!(c.limiter.rpm, Some(100));
        // Flags win over the file, for every stage.
        let over = LlmSettings {
            provider: Some(ProviderKind::Openai),
            model: Some("m".into()),
            rpm: Some(5),
            cache: Some(false),
            ..Default::default()
        };
        let c = LlmConfig::resolve(&over.flags_over(file), &|_| None).unwrap();
        assert!(
            c.stages
                .values()
                .all(|r| r.provider == ProviderKind::Openai && r.model == "m")
        );
        assert_eq!(c.stages.len(), 5);
        assert_eq!(c.limiter.rpm, Some(5));
        assert!(!c.cache);
    }

    #[test]
    fn hosted_providers_need_keys_local_servers_do_not() {
        let over = LlmSettings {
            provider: Some(ProviderKind::Openai),
            ..Default::default()
        };
        let err = LlmConfig::resolve(&over, &|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("OPENAI_API_KEY"), "{err}");
        let local = LlmSettings {
            base_url: Some("http://127.0.0.1:11434/v1".into()),
            ..over.clone()
        };
        let c = LlmConfig::resolve(&local, &|_| None).unwrap();
        assert_eq!(c.openai.base_url, "http://127.0.0.1:11434/v1");
        assert!(c.openai.api_key.is_none());
        let c = LlmConfig::resolve(&over, &env_with("OPENAI_API_KEY", "sk-x")).unwrap();
        assert!(c.openai.api_key.is_some());
    }

    #[test]
    fn bad_settings_are_named() {
        let e =
            LlmConfig::resolve(&yaml("llm:\n  stages:\n    famly: {}\n"), &|_| None).unwrap_err();
        assert!(e.to_string().contains("famly"));
        let e = LlmConfig::resolve(
            &yaml("llm:\n  stages:\n    normalization:\n      provider: openai\n"),
            &|_| None,
        )
        .unwrap_err();
        assert!(matches!(e, LlmConfigError::NormalizationIsRules));
        let e = LlmConfig::resolve(&yaml("llm:\n  headroom: 2\n"), &|_| None).unwrap_err();
        assert!(e.to_string().contains("headroom"));
        let e = parse("llm:\n  rpn: 3\n").unwrap_err();
        assert!(e.to_string().contains("rpn"));
    }

    #[test]
    fn prices_match_by_prefix_and_cost_cached_tokens_less() {
        let t = PriceTable::defaults();
        let u = Usage {
            input: 1_000_000,
            output: 0,
            cached: 500_000,
        };
        let c = t.cost("gpt-4o-mini-2024-07-18", u).unwrap();
        assert!((c - (0.5 * 0.15 + 0.5 * 0.075)).abs() < 1e-9, "{c}");
        assert_eq!(t.cost("unknown-model", u), None);
    }
}
