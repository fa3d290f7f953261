//! The provider abstraction: one HTTP call that turns a [`Prompt`] into a JSON answer plus the
//! usage and rate-limit information of the response. Retries, rate limiting, validation and
//! caching live above it, in the executor.

use super::headers::RateLimitInfo;
use crate::pipeline::stage::Prompt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed, sendable future (keeps [`Provider`] object-safe so stages can pick providers at
/// run time).
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One call.
#[derive(Debug, Clone, Copy)]
pub struct CompletionRequest<'a> {
    /// Model name.
    pub model: &'a str,
    /// What to ask.
    pub prompt: &'a Prompt,
    /// Most output tokens.
    pub max_output_tokens: u32,
    /// Our id of this request, sent as `X-Client-Request-Id` (it names the `llm_calls` row).
    pub request_id: Option<&'a str>,
}

pub use crate::db::llm::Usage;

/// A successful HTTP exchange. The answer may still be unusable (`Err` holds why: not JSON,
/// refused, truncated, no tool call); the executor validates it against the taxonomy.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The JSON answer, or why there is none.
    pub answer: Result<serde_json::Value, String>,
    /// Tokens used.
    pub usage: Usage,
    /// Rate-limit headers.
    pub limits: RateLimitInfo,
}

/// Why a call produced no completion. Messages are already redacted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// 429: over the provider's rate limit.
    #[error("rate limited (429): {message}")]
    RateLimited {
        /// Headers of the 429 (retry-after, resets).
        limits: RateLimitInfo,
        /// The provider's message.
        message: String,
    },
    /// 5xx, 529 (overloaded), 408, 409: worth retrying.
    #[error("server error {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
        /// Headers (some servers send retry-after with 503/529).
        limits: RateLimitInfo,
    },
    /// No answer within the timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// Connection or protocol failure, or a response body that is not the API's shape.
    #[error("transport: {0}")]
    Transport(String),
    /// Any other 4xx (bad key, bad request, unknown model): retrying will not help.
    #[error("rejected ({status}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
}

impl ProviderError {
    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, ProviderError::Rejected { .. })
    }
}

/// An LLM API.
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// `openai` or `anthropic` (recorded in provenance and accounting).
    fn name(&self) -> &'static str;

    /// Sends one request.
    fn complete<'a>(
        &'a self,
        req: CompletionRequest<'a>,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>>;
}

/// Classifies a non-success HTTP status into a [`ProviderError`].
pub(crate) fn status_error(status: u16, message: String, limits: RateLimitInfo) -> ProviderError {
    match status {
        429 => ProviderError::RateLimited { limits, message },
        408 | 409 | 500..=599 => ProviderError::Server {
            status,
            message,
            limits,
        },
        _ => ProviderError::Rejected { status, message },
    }
}

/// Maps a reqwest error (redacting anything key-like through `redact`).
pub(crate) fn transport_error(
    e: &reqwest::Error,
    timeout: Duration,
    redact: impl Fn(&str) -> String,
) -> ProviderError {
    if e.is_timeout() {
        return ProviderError::Timeout(timeout);
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    ProviderError::Transport(redact(&text))
}

/// The `message` of a JSON error body (`{"error": {"message": …}}` for both APIs), else the
/// start of the body.
pub(crate) fn error_message(body: &str) -> String {
    let parsed: Option<String> = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        });
    let msg = parsed.unwrap_or_else(|| body.chars().take(300).collect());
    if msg.is_empty() {
        "(empty body)".into()
    } else {
        msg
    }
}

/// Ensures a base URL has no trailing slash.
pub(crate) fn trim_base(url: &str) -> String {
    url.trim_end_matches('/').to_string()
}

/// The shared HTTP client settings for providers.
pub(crate) fn http_client(
    timeout: Duration,
    concurrency: usize,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .pool_max_idle_per_host(concurrency.max(1))
        .user_agent(concat!("restate-classify/", env!("CARGO_PKG_VERSION")))
        .build()
}
