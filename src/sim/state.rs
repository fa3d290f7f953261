//! The simulator's shared state: limits, fault draws, counters. API-agnostic: the OpenAI and
//! Anthropic front-ends turn requests into a [`Question`] and render the [`Verdict`].

use super::SimConfig;
use super::faults::Fault;
use super::window::SlidingWindow;
use crate::llm::tokens::estimate_text;
use crate::pipeline::stage::StageName;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Prompts shorter than this are not cached by the simulated provider (as with OpenAI).
const MIN_CACHEABLE_TOKENS: u64 = 1024;

/// Counters served at `GET /stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimStats {
    /// Always "llm-sim": this is a simulator.
    pub simulator: String,
    /// Requests that reached a completion endpoint.
    pub requests: u64,
    /// Requests within the limits (counted against them).
    pub accepted: u64,
    /// Valid answers served.
    pub ok: u64,
    /// 429s served because a limit was exceeded.
    pub rate_limited: u64,
    /// 429s injected as faults.
    pub injected_429: u64,
    /// 500s injected.
    pub injected_500: u64,
    /// Requests held until the client gave up.
    pub injected_timeout: u64,
    /// Malformed answers served.
    pub injected_malformed: u64,
    /// 400s (unreadable request, no fenced input, unknown schema).
    pub bad_requests: u64,
    /// 401s.
    pub unauthorized: u64,
    /// Input tokens of accepted requests.
    pub prompt_tokens: u64,
    /// Output tokens of accepted requests.
    pub completion_tokens: u64,
    /// Input tokens reported as served from the prompt cache.
    pub cached_tokens: u64,
    /// The most requests that arrived in any window (whether accepted or not).
    pub max_arrivals_in_window: u64,
    /// The most accepted requests in any window.
    pub max_accepted_in_window: u64,
    /// The most accepted tokens in any window.
    pub max_tokens_in_window: u64,
    /// Request limit per window (0: unlimited).
    pub limit_requests_per_window: u64,
    /// Token limit per window (0: unlimited).
    pub limit_tokens_per_window: u64,
    /// The window, milliseconds.
    pub window_ms: u64,
    /// Requests per stage.
    pub by_stage: BTreeMap<String, u64>,
}

/// A parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Question {
    /// Which stage (from the schema or tool name).
    pub stage: StageName,
    /// The stage input JSON extracted from the user message.
    pub input: String,
    /// Estimated input tokens.
    pub prompt_tokens: u64,
    /// Estimated tokens of the system prompt.
    pub system_tokens: u64,
    /// Identity of the system prompt (for simulated prompt caching).
    pub system_hash: u64,
    /// The key the client sent.
    pub api_key: Option<String>,
    /// The client's id of the request (`X-Client-Request-Id`), if it sent one.
    pub request_id: Option<String>,
}

/// Simulated token usage.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SimUsage {
    /// Input tokens (cached included).
    pub prompt: u64,
    /// Output tokens.
    pub completion: u64,
    /// Input tokens read from the prompt cache.
    pub cached: u64,
}

/// What to answer.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    /// 400.
    BadRequest(String),
    /// 401 (echoes the key sent).
    Unauthorized(String),
    /// 429 for exceeding a limit.
    OverLimit,
    /// 429 injected.
    Injected429,
    /// 500 injected.
    ServerError,
    /// Hold the request.
    Hang,
    /// A broken answer.
    Malformed(SimUsage),
    /// The answer.
    Answer(serde_json::Value, SimUsage),
}

/// Rate-limit state to put in headers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RateHeaders {
    /// (limit, remaining, reset) for requests, if limited.
    pub requests: Option<(u64, u64, Duration)>,
    /// (limit, remaining, reset) for tokens, if limited.
    pub tokens: Option<(u64, u64, Duration)>,
    /// On 429: when to retry.
    pub retry_after: Option<Duration>,
}

struct Inner {
    arrivals: SlidingWindow,
    requests: Option<SlidingWindow>,
    tokens: Option<SlidingWindow>,
    rng: StdRng,
    seen_systems: HashSet<u64>,
    stats: SimStats,
    /// Every client request id received, in arrival order (accepted or not).
    request_ids: Vec<String>,
}

/// Shared by all connections.
pub(crate) struct SimState {
    /// Settings.
    pub config: SimConfig,
    /// Cancelled when the simulator stops.
    pub cancel: CancellationToken,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn per_window(per_minute: u32, window: Duration) -> u64 {
    ((per_minute as f64 * window.as_secs_f64() / 60.0).floor() as u64).max(1)
}

impl SimState {
    /// Fresh state.
    pub(crate) fn new(config: SimConfig, cancel: CancellationToken) -> Self {
        let w = config.window;
        let requests = (config.rpm > 0).then(|| SlidingWindow::new(w, per_window(config.rpm, w)));
        let tokens = (config.tpm > 0).then(|| SlidingWindow::new(w, per_window(config.tpm, w)));
        let stats = SimStats {
            simulator: super::FINGERPRINT.into(),
            limit_requests_per_window: requests.as_ref().map(|r| r.limit()).unwrap_or(0),
            limit_tokens_per_window: tokens.as_ref().map(|t| t.limit()).unwrap_or(0),
            window_ms: w.as_millis() as u64,
            ..Default::default()
        };
        let inner = Inner {
            arrivals: SlidingWindow::new(w, u64::MAX),
            requests,
            tokens,
            rng: StdRng::seed_from_u64(config.seed),
            seen_systems: HashSet::new(),
            request_ids: Vec::new(),
            stats,
        };
        Self {
            config,
            cancel,
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Counters only; a panic elsewhere leaves them usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counters now.
    /// The client request ids received so far.
    pub(crate) fn request_ids(&self) -> Vec<String> {
        self.lock().request_ids.clone()
    }

    pub(crate) fn snapshot(&self) -> SimStats {
        let i = self.lock();
        let mut s = i.stats.clone();
        s.max_arrivals_in_window = i.arrivals.max_in_window();
        s.max_accepted_in_window = i.requests.as_ref().map(|r| r.max_in_window()).unwrap_or(0);
        s.max_tokens_in_window = i.tokens.as_ref().map(|t| t.max_in_window()).unwrap_or(0);
        s
    }

    /// Counts a request that could not be read.
    pub(crate) fn bad_request(&self) {
        let mut i = self.lock();
        i.stats.requests += 1;
        i.stats.bad_requests += 1;
        i.arrivals.add(Instant::now(), 1);
    }

    /// Decides the fate of a request: verdict, headers, latency.
    pub(crate) fn decide(&self, q: &Question) -> (Verdict, RateHeaders, Duration) {
        let now = Instant::now();
        let mut i = self.lock();
        i.stats.requests += 1;
        i.arrivals.add(now, 1);
        if let Some(id) = &q.request_id {
            i.request_ids.push(id.clone());
        }
        *i.stats
            .by_stage
            .entry(q.stage.as_str().to_string())
            .or_default() += 1;
        let latency = self.config.latency.sample(&mut i.rng);
        if let Some(required) = &self.config.require_api_key
            && q.api_key.as_deref() != Some(required.as_str())
        {
            i.stats.unauthorized += 1;
            let headers = headers(&mut i, now, None);
            return (
                Verdict::Unauthorized(q.api_key.clone().unwrap_or_default()),
                headers,
                Duration::ZERO,
            );
        }
        let answer = match (self.config.answerer)(q.stage, &q.input) {
            Ok(a) => a,
            Err(e) => {
                i.stats.bad_requests += 1;
                let headers = headers(&mut i, now, None);
                return (Verdict::BadRequest(e), headers, Duration::ZERO);
            }
        };
        let completion = estimate_text(&answer.to_string());
        let total = q.prompt_tokens + completion;
        let wait = i
            .requests
            .as_mut()
            .map(|r| r.wait_for(now, 1))
            .unwrap_or_default()
            .max(
                i.tokens
                    .as_mut()
                    .map(|t| t.wait_for(now, total))
                    .unwrap_or_default(),
            );
        if !wait.is_zero() {
            i.stats.rate_limited += 1;
            let headers = headers(&mut i, now, Some(wait));
            return (Verdict::OverLimit, headers, Duration::ZERO);
        }
        let fault = self.config.faults.draw(&mut i.rng);
        match fault {
            Fault::RateLimited => {
                i.stats.injected_429 += 1;
                let headers = headers(&mut i, now, Some(Duration::from_secs(1)));
                return (Verdict::Injected429, headers, Duration::ZERO);
            }
            Fault::ServerError => {
                i.stats.injected_500 += 1;
                let headers = headers(&mut i, now, None);
                return (Verdict::ServerError, headers, latency / 10);
            }
            _ => {}
        }
        i.stats.accepted += 1;
        if let Some(r) = i.requests.as_mut() {
            r.add(now, 1);
        }
        if let Some(t) = i.tokens.as_mut() {
            t.add(now, total);
        }
        let cached =
            if q.system_tokens >= MIN_CACHEABLE_TOKENS && !i.seen_systems.insert(q.system_hash) {
                q.system_tokens / 128 * 128
            } else {
                0
            };
        let usage = SimUsage {
            prompt: q.prompt_tokens,
            completion,
            cached,
        };
        i.stats.prompt_tokens += usage.prompt;
        i.stats.completion_tokens += usage.completion;
        i.stats.cached_tokens += usage.cached;
        let headers = headers(&mut i, now, None);
        let verdict = match fault {
            Fault::Timeout => {
                i.stats.injected_timeout += 1;
                Verdict::Hang
            }
            Fault::Malformed => {
                i.stats.injected_malformed += 1;
                Verdict::Malformed(usage)
            }
            _ => {
                i.stats.ok += 1;
                Verdict::Answer(answer, usage)
            }
        };
        (verdict, headers, latency)
    }
}

fn headers(i: &mut Inner, now: Instant, retry_after: Option<Duration>) -> RateHeaders {
    let state = |w: &mut SlidingWindow| (w.limit(), w.remaining(now), w.reset_in(now));
    RateHeaders {
        requests: i.requests.as_mut().map(state),
        tokens: i.tokens.as_mut().map(state),
        retry_after,
    }
}

/// A stable 64-bit identity of a text.
pub(crate) fn text_hash(text: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(text.as_bytes());
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}
