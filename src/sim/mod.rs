//! `llm-sim`: an OpenAI-compatible (and Anthropic-compatible) **simulator** for rehearsing and
//! benchmarking a run at zero cost. It enforces requests/min and tokens/min over a sliding
//! window with real `x-ratelimit-*` and `retry-after` headers (429 when exceeded), injects
//! configured faults (429, 500, timeouts, malformed answers), waits a configurable latency, and
//! answers each stage's schema with the rules engine on the stage input it extracts from the
//! prompt. It says it is a simulator: banner, `model`, `system_fingerprint`, `/v1/models`.
//!
//! Endpoints: `POST /v1/chat/completions`, `POST /v1/messages`, `GET /v1/models`, `GET /stats`.

mod anthropic_api;
pub(crate) mod faults;
mod http;
mod openai_api;
mod state;
pub(crate) mod window;

pub use faults::{ErrorRates, Latency, SpecError};
pub use state::SimStats;

use crate::pipeline::stage::StageName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Identifies the simulator in responses.
pub(crate) const FINGERPRINT: &str = "llm-sim";

/// Answers a stage from its extracted input JSON (the pipeline's rules engine by default).
pub type Answerer = Arc<dyn Fn(StageName, &str) -> Result<serde_json::Value, String> + Send + Sync>;

/// The simulator's settings.
#[derive(Clone)]
pub struct SimConfig {
    /// Port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Requests per minute (0: unlimited).
    pub rpm: u32,
    /// Tokens (input + output) per minute (0: unlimited).
    pub tpm: u32,
    /// Window over which the limits are enforced; the limit per window is scaled from the
    /// per-minute one (tests use short windows to check pacing quickly; providers also enforce
    /// over sub-minute windows).
    pub window: Duration,
    /// Response latency.
    pub latency: Latency,
    /// Fault probabilities.
    pub faults: ErrorRates,
    /// Seed of the fault and latency draws.
    pub seed: u64,
    /// How long a `timeout` fault holds the request before giving up on it.
    pub hang: Duration,
    /// When set, requests must carry this key (401 otherwise, echoing the key sent as some
    /// providers do — for testing redaction).
    pub require_api_key: Option<String>,
    /// Produces the answers.
    pub answerer: Answerer,
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("port", &self.port)
            .field("rpm", &self.rpm)
            .field("tpm", &self.tpm)
            .field("window", &self.window)
            .field("latency", &self.latency)
            .field("faults", &self.faults)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// The rules engine's answer for a stage (`pipeline::rules_answer`), as `llm-sim` serves it.
pub(crate) fn rules_answerer() -> Answerer {
    Arc::new(|stage: StageName, input: &str| {
        crate::pipeline::rules_answer(stage, input).map_err(|e| e.to_string())
    })
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            port: 0,
            rpm: 900,
            tpm: 1_000_000,
            window: Duration::from_secs(60),
            latency: Latency {
                mean: Duration::from_millis(1500),
                jitter: Duration::from_millis(500),
            },
            faults: ErrorRates::default(),
            seed: 1,
            hang: Duration::from_secs(600),
            require_api_key: None,
            answerer: rules_answerer(),
        }
    }
}

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The port is taken.
    #[error("llm-sim cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A running simulator; stops when [`SimHandle::stop`] is called or the handle is dropped.
#[derive(Debug)]
pub struct SimHandle {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<state::SimState>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    /// Base URL for OpenAI-compatible clients (`…/v1`).
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url)
    }

    /// Base URL for Anthropic clients (without `/v1`).
    pub fn anthropic_base_url(&self) -> String {
        self.url.clone()
    }

    /// A client configuration with every LLM-capable stage answered by this simulator through
    /// `provider` (model `llm-sim`, keyless; default budgets — set `limiter` to match the
    /// simulator's limits). Build an executor from it with `llm::Executor::from_config`.
    pub(crate) fn llm_config(
        &self,
        provider: crate::llm::ProviderKind,
    ) -> Result<crate::llm::LlmConfig, crate::llm::LlmConfigError> {
        let base = match provider {
            crate::llm::ProviderKind::Anthropic => self.anthropic_base_url(),
            _ => self.openai_base_url(),
        };
        crate::llm::LlmConfig::for_endpoint(provider, &base, FINGERPRINT)
    }

    /// Counters so far (the same as `GET /stats`).
    pub fn stats(&self) -> SimStats {
        self.state.snapshot()
    }

    /// The `X-Client-Request-Id` of every request received so far (the client's own ids of its
    /// calls: restate-classify sends the `llm_calls.call_id` of each).
    pub fn request_ids(&self) -> Vec<String> {
        self.state.request_ids()
    }

    /// Stops serving (held `timeout` requests are released).
    pub(crate) async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Starts the simulator on 127.0.0.1 in this process.
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], config.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    let cancel = CancellationToken::new();
    let state = Arc::new(state::SimState::new(config, cancel.clone()));
    let task = tokio::spawn(http::serve(listener, state.clone(), cancel.clone()));
    Ok(SimHandle {
        url: format!("http://{addr}"),
        addr,
        state,
        cancel,
        task: Some(task),
    })
}

/// The startup banner.
pub(crate) fn banner(config: &SimConfig, url: &str) -> String {
    let limit = |n: u32| {
        if n == 0 {
            "unlimited".to_string()
        } else {
            n.to_string()
        }
    };
    format!(
        "llm-sim — an LLM API SIMULATOR (answers come from the rules engine, not a model)\n\
         listening on {url}  (OpenAI: {url}/v1, Anthropic: {url})\n\
         limits: {} requests/min, {} tokens/min over a {:?} sliding window; latency {:?} ± {:?}\n\
         faults: 429 {:.3}, 500 {:.3}, timeout {:.3}, malformed {:.3}; seed {}\n\
         stats: GET {url}/stats",
        limit(config.rpm),
        limit(config.tpm),
        config.window,
        config.latency.mean,
        config.latency.jitter,
        config.faults.rate_limited,
        config.faults.server_error,
        config.faults.timeout,
        config.faults.malformed,
        config.seed,
    )
}
