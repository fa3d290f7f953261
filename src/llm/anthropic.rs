//! Anthropic's Messages API. The system prompt goes in a separate block marked
//! `cache_control: {type: "ephemeral"}` so that the (identical per stage) tools + system prefix is
//! served from Anthropic's prompt cache; the JSON answer comes from a forced tool call whose
//! `input_schema` is the stage's schema.

use super::headers::RateLimitInfo;
use super::provider::{
    BoxFuture, Completion, CompletionRequest, Provider, ProviderError, Usage, error_message,
    status_error, transport_error, trim_base,
};
use super::secret::{ApiKey, redact};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The API version header we speak.
pub(crate) const DEFAULT_VERSION: &str = "2023-06-01";

/// Resolved settings of the Anthropic endpoint.
#[derive(Debug, Clone)]
pub struct AnthropicSettings {
    /// Base URL without `/v1` (e.g. `https://api.anthropic.com`).
    pub base_url: String,
    /// Key (required by Anthropic; a simulator may accept none).
    pub api_key: Option<ApiKey>,
    /// `anthropic-version` header.
    pub version: String,
    /// Whole-request timeout.
    pub timeout: Duration,
}

/// The Anthropic provider.
#[derive(Debug)]
pub struct Anthropic {
    settings: AnthropicSettings,
    http: reqwest::Client,
}

impl Anthropic {
    /// A provider sharing `http`.
    pub fn new(settings: AnthropicSettings, http: reqwest::Client) -> Self {
        Self { settings, http }
    }

    /// The request body for a prompt.
    pub(crate) fn request_body(&self, req: &CompletionRequest<'_>) -> Value {
        let p = req.prompt;
        let tool = p.stage.schema_name();
        json!({
            "model": req.model,
            "max_tokens": req.max_output_tokens,
            "temperature": 0,
            "system": [
                {"type": "text", "text": p.system, "cache_control": {"type": "ephemeral"}}
            ],
            "messages": [
                {"role": "user", "content": p.user}
            ],
            "tools": [{
                "name": tool,
                "description": format!("Record the {} answer.", p.stage),
                "input_schema": p.schema,
            }],
            "tool_choice": {"type": "tool", "name": tool},
        })
    }

    async fn call(&self, req: CompletionRequest<'_>) -> Result<Completion, ProviderError> {
        let key = self.settings.api_key.as_ref();
        let red = |t: &str| redact(key, t);
        let url = format!("{}/v1/messages", trim_base(&self.settings.base_url));
        let mut builder = self
            .http
            .post(url)
            .timeout(self.settings.timeout)
            .header("anthropic-version", &self.settings.version)
            .json(&self.request_body(&req));
        if let Some(id) = req.request_id {
            builder = builder.header("x-client-request-id", id);
        }
        if let Some(k) = key {
            builder = builder.header("x-api-key", k.expose());
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
        let parsed: MessageResponse = serde_json::from_str(&text)
            .map_err(|e| ProviderError::Transport(format!("response is not a message: {e}")))?;
        Ok(parse_message(
            parsed,
            req.prompt.stage.schema_name(),
            limits,
        ))
    }
}

impl Provider for Anthropic {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn complete<'a>(
        &'a self,
        req: CompletionRequest<'a>,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(self.call(req))
    }
}

/// The parts of a Messages API response we read.
#[derive(Debug, Deserialize)]
pub(crate) struct MessageResponse {
    /// Content blocks (`text`, `tool_use`, …).
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// `tool_use`, `end_turn`, `max_tokens`, …
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Token usage.
    #[serde(default)]
    pub usage: Option<MessageUsage>,
}

/// One content block.
#[derive(Debug, Deserialize)]
pub(crate) struct ContentBlock {
    /// Block type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Tool name (`tool_use`).
    #[serde(default)]
    pub name: Option<String>,
    /// Tool input (`tool_use`): our answer.
    #[serde(default)]
    pub input: Option<Value>,
}

/// `usage`.
#[derive(Debug, Deserialize)]
pub(crate) struct MessageUsage {
    /// Input tokens after the last cache breakpoint (not read from or written to the cache).
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Input tokens written to the cache.
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the cache.
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

/// The answer (the forced tool call's input) and usage of a message.
pub(crate) fn parse_message(r: MessageResponse, tool: &str, limits: RateLimitInfo) -> Completion {
    let usage = r
        .usage
        .map(|u| {
            let read = u.cache_read_input_tokens.unwrap_or(0);
            Usage {
                input: u.input_tokens + read + u.cache_creation_input_tokens.unwrap_or(0),
                output: u.output_tokens,
                cached: read,
            }
        })
        .unwrap_or_default();
    let call = r
        .content
        .into_iter()
        .find(|b| b.kind == "tool_use" && b.name.as_deref() == Some(tool));
    let answer = match (call.and_then(|c| c.input), r.stop_reason.as_deref()) {
        (_, Some("max_tokens")) => Err("answer truncated (stop_reason=max_tokens)".to_string()),
        (Some(input), _) if input.is_object() => Ok(input),
        (Some(_), _) => Err("tool input is not an object".to_string()),
        (None, reason) => Err(format!(
            "no {tool} tool call in the answer (stop_reason={reason:?})"
        )),
    };
    Completion {
        answer,
        usage,
        limits,
    }
}
