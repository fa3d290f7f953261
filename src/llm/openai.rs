//! Any OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI, Ollama, vLLM,
//! LM Studio, OpenRouter, llm-sim) with JSON-schema structured outputs:
//! `response_format: {type: "json_schema", json_schema: {name, strict: true, schema}}`.

use super::headers::RateLimitInfo;
use super::provider::{
    BoxFuture, Completion, CompletionRequest, Provider, ProviderError, Usage, error_message,
    status_error, transport_error, trim_base,
};
use super::secret::{ApiKey, redact};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;

/// How the key is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OpenAiAuth {
    /// `Authorization: Bearer KEY` (OpenAI, OpenRouter, vLLM, Azure's v1 API with Entra tokens).
    #[default]
    Bearer,
    /// `api-key: KEY` (Azure OpenAI keys).
    ApiKey,
}

/// Which request field caps the answer length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MaxTokensParam {
    /// `max_tokens`: understood by every compatible server (deprecated by OpenAI for reasoning
    /// models).
    #[default]
    MaxTokens,
    /// `max_completion_tokens`: OpenAI's current name, required by its reasoning models.
    MaxCompletionTokens,
}

/// Resolved settings of an OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// Base URL up to and including `/v1` (e.g. `https://api.openai.com/v1`,
    /// `http://127.0.0.1:11434/v1` for Ollama, `https://RES.openai.azure.com/openai/v1`).
    pub base_url: String,
    /// Key (optional: local servers need none).
    pub api_key: Option<ApiKey>,
    /// Header the key goes in.
    pub auth: OpenAiAuth,
    /// `api-version` query parameter (Azure's dated APIs).
    pub api_version: Option<String>,
    /// Answer-length field.
    pub max_tokens_param: MaxTokensParam,
    /// Whole-request timeout.
    pub timeout: Duration,
}

/// The OpenAI-compatible provider.
#[derive(Debug)]
pub struct OpenAi {
    settings: OpenAiSettings,
    http: reqwest::Client,
}

impl OpenAi {
    /// A provider sharing `http`.
    pub fn new(settings: OpenAiSettings, http: reqwest::Client) -> Self {
        Self { settings, http }
    }

    /// The request body for a prompt (public so tests can compare it with the documented shape).
    pub(crate) fn request_body(&self, req: &CompletionRequest<'_>) -> Value {
        let p = req.prompt;
        let mut body = json!({
            "model": req.model,
            "messages": [
                {"role": "system", "content": p.system},
                {"role": "user", "content": p.user},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": p.stage.schema_name(),
                    "strict": true,
                    "schema": if self.hosted() { p.schema.clone() } else { portable_schema(&p.schema) },
                },
            },
            "temperature": 0,
        });
        let field = match self.settings.max_tokens_param {
            MaxTokensParam::MaxTokens => "max_tokens",
            MaxTokensParam::MaxCompletionTokens => "max_completion_tokens",
        };
        body[field] = json!(req.max_output_tokens);
        body
    }

    /// Whether the endpoint is OpenAI's own (or Azure OpenAI): its strict mode bounds strings
    /// by `pattern` and rejects `maxLength`.
    fn hosted(&self) -> bool {
        url::Url::parse(&self.settings.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .is_some_and(|h| h == "api.openai.com" || h.ends_with(".openai.azure.com"))
    }

    fn url(&self) -> String {
        let base = trim_base(&self.settings.base_url);
        match &self.settings.api_version {
            Some(v) => format!("{base}/chat/completions?api-version={v}"),
            None => format!("{base}/chat/completions"),
        }
    }

    async fn call(&self, req: CompletionRequest<'_>) -> Result<Completion, ProviderError> {
        let key = self.settings.api_key.as_ref();
        let red = |t: &str| redact(key, t);
        let mut builder = self
            .http
            .post(self.url())
            .timeout(self.settings.timeout)
            .json(&self.request_body(&req));
        if let Some(id) = req.request_id {
            builder = builder.header("x-client-request-id", id);
        }
        if let Some(k) = key {
            builder = match self.settings.auth {
                OpenAiAuth::Bearer => builder.bearer_auth(k.expose()),
                OpenAiAuth::ApiKey => builder.header("api-key", k.expose()),
            };
        }
        let timeout = self.settings.timeout;
        let resp = builder
            .send()
            .await
            .map_err(|e| transport_error(&e, timeout, red))?;
        let status = resp.status().as_u16();
        let limits = RateLimitInfo::from_headers(resp.headers());
        let text = resp
            .text()
            .await
            .map_err(|e| transport_error(&e, timeout, red))?;
        if !(200..300).contains(&status) {
            return Err(status_error(status, red(&error_message(&text)), limits));
        }
        let parsed: ChatResponse = serde_json::from_str(&text).map_err(|e| {
            ProviderError::Transport(format!("response is not a chat completion: {e}"))
        })?;
        Ok(parse_completion(parsed, limits))
    }
}

impl Provider for OpenAi {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn complete<'a>(
        &'a self,
        req: CompletionRequest<'a>,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(self.call(req))
    }
}

/// The parts of a chat completion we read.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatResponse {
    /// Choices (we ask for one).
    #[serde(default)]
    pub choices: Vec<Choice>,
    /// Token usage.
    #[serde(default)]
    pub usage: Option<ChatUsage>,
}

/// One choice.
#[derive(Debug, Deserialize)]
pub(crate) struct Choice {
    /// The assistant message.
    pub message: Message,
    /// `stop`, `length`, `content_filter`, …
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// The assistant message.
#[derive(Debug, Deserialize)]
pub(crate) struct Message {
    /// The JSON text of the answer.
    #[serde(default)]
    pub content: Option<String>,
    /// Set when the model refused (structured outputs).
    #[serde(default)]
    pub refusal: Option<String>,
}

/// `usage`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatUsage {
    /// Input tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Details, including prompt-cache hits.
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

/// `usage.prompt_tokens_details`.
#[derive(Debug, Deserialize)]
pub(crate) struct PromptTokensDetails {
    /// Input tokens served from OpenAI's prompt cache.
    #[serde(default)]
    pub cached_tokens: u64,
}

/// The answer and usage of a parsed chat completion.
pub(crate) fn parse_completion(r: ChatResponse, limits: RateLimitInfo) -> Completion {
    let usage = r
        .usage
        .map(|u| Usage {
            input: u.prompt_tokens,
            output: u.completion_tokens,
            cached: u
                .prompt_tokens_details
                .map(|d| d.cached_tokens)
                .unwrap_or(0),
        })
        .unwrap_or_default();
    let answer = match r.choices.into_iter().next() {
        None => Err("no choices in the response".to_string()),
        Some(c) => match (
            c.message.refusal,
            c.message.content,
            c.finish_reason.as_deref(),
        ) {
            (Some(refusal), _, _) => Err(format!("model refused: {refusal}")),
            (_, _, Some("length")) => Err("answer truncated (finish_reason=length)".to_string()),
            (_, None, _) => Err("no content in the answer".to_string()),
            (_, Some(text), _) => {
                serde_json::from_str::<Value>(&text).map_err(|e| format!("answer is not JSON: {e}"))
            }
        },
    };
    Completion {
        answer,
        usage,
        limits,
    }
}

/// The schema for other OpenAI-compatible servers: a string's `pattern` bound `{m,n}` becomes
/// `minLength`/`maxLength` and the pattern is dropped. llama.cpp's grammars honour the lengths
/// but answered every request whose schema had our pattern with a 500 ("does not match the
/// expected peg-native format"); vLLM's and Ollama's accept both.
pub(crate) fn portable_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                if k == "pattern" {
                    if let Some((min, max)) = v.as_str().and_then(super::tokens::pattern_bounds) {
                        out.insert("minLength".into(), json!(min));
                        out.insert("maxLength".into(), json!(max));
                    }
                    continue;
                }
                out.insert(k.clone(), portable_schema(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(portable_schema).collect()),
        other => other.clone(),
    }
}
