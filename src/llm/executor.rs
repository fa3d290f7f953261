//! The [`Executor`]: answers a stage with the rules engine or an LLM, through the one limiter,
//! the cache and the accounting; validates every LLM answer with the stage's `parse_answer`,
//! retries within bounds and lets the rules engine stand in when the LLM only gives invalid
//! answers.

use super::cache::{self, Cache, CacheKey, CachedAnswer, Failure, FailureKind, Flight, Source};
use super::calls::{CallRecord, CallStatus, Recorder};
use super::config::{LlmConfig, LlmConfigError, OnLlmFailure, ProviderKind, RetryPolicy};
use super::feedback::{self, WindowInputs};
use super::limiter::{Backlog, CallEnd, Limiter};
use super::meter::{LlmSummary, Meter, compact};
use super::provider::{CompletionRequest, Provider, ProviderError, Usage, http_client};
use super::{Choice, LlmError, StageOutcome, anthropic, openai, tokens};
use crate::db::results::Provenance;
use crate::pipeline::stage::{LlmStage, Prompt, Stage, StageName};
use deadpool_postgres::Pool;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the cascade decided for one answer.
#[derive(Debug)]
pub(crate) enum Verdict<O> {
    /// The rules are confident: their answer stands.
    Rules(StageOutcome<O>),
    /// Ask the LLM, and why (None without a cascade).
    Ask(Option<String>),
}

/// Provider and model of one LLM stage.
#[derive(Debug, Clone)]
struct Route {
    provider: Arc<dyn Provider>,
    model: String,
}

/// Everything an LLM answer needs, shared by all stages.
#[derive(Debug)]
struct Engine {
    limiter: Arc<Limiter>,
    meter: Arc<Meter>,
    /// Flights in the air or landed; backed by `llm_cache` when answers are cached.
    flights: Cache,
    /// Identical prompts share answers (`--no-cache`: only a call's own retries do).
    cache_answers: bool,
    recorder: Recorder,
    retry: RetryPolicy,
    max_output_tokens: u32,
    max_wait: Duration,
    timeout: Duration,
    on_failure: OnLlmFailure,
    /// `--llm-when uncertain`: the rules confidence at which the rules answer alone.
    cascade: Option<f64>,
}

/// Answers stages according to the configured providers.
#[derive(Debug, Default)]
pub struct Executor {
    routes: BTreeMap<StageName, Route>,
    engine: Option<Arc<Engine>>,
}

/// Who asks: recorded with each call, and (without the cache) what a flight is shared within.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    /// The run the call is recorded under.
    pub run_id: Option<&'a str>,
    /// The item (indicator) it is for.
    pub item: Option<&'a str>,
}

impl<'a> From<Option<&'a str>> for Scope<'a> {
    fn from(run_id: Option<&'a str>) -> Self {
        Self { run_id, item: None }
    }
}

impl Executor {
    /// Every stage answered by the rules engine.
    pub(crate) fn rules_only() -> Self {
        Self::default()
    }

    /// Builds the providers, limiter, cache and accounting for `config`. With a pool, answers
    /// are cached in `llm_cache` and calls recorded in `llm_calls` (schema `sql/0003_llm.sql`).
    /// Must be called inside a Tokio runtime (it starts the accounting writer).
    pub fn from_config(config: &LlmConfig, pool: Option<Pool>) -> Result<Self, LlmConfigError> {
        let http = http_client(
            config.openai.timeout.max(config.anthropic.timeout),
            config.limiter.concurrency,
        )
        .map_err(|e| LlmConfigError::Http(e.to_string()))?;
        let mut providers: BTreeMap<ProviderKind, Arc<dyn Provider>> = BTreeMap::new();
        providers.insert(
            ProviderKind::Openai,
            Arc::new(openai::OpenAi::new(config.openai.clone(), http.clone())),
        );
        providers.insert(
            ProviderKind::Anthropic,
            Arc::new(anthropic::Anthropic::new(config.anthropic.clone(), http)),
        );
        Ok(Self::from_parts(config, &providers, pool))
    }

    /// Like [`Executor::from_config`] with the given provider implementations (tests use fakes).
    pub(crate) fn from_parts(
        config: &LlmConfig,
        providers: &BTreeMap<ProviderKind, Arc<dyn Provider>>,
        pool: Option<Pool>,
    ) -> Self {
        let routes: BTreeMap<StageName, Route> = config
            .stages
            .iter()
            .filter(|(stage, _)| **stage != StageName::Normalization)
            .filter_map(|(stage, r)| {
                providers.get(&r.provider).map(|p| {
                    (
                        *stage,
                        Route {
                            provider: p.clone(),
                            model: r.model.clone(),
                        },
                    )
                })
            })
            .collect();
        if routes.is_empty() {
            return Self::rules_only();
        }
        let engine = Engine {
            limiter: Limiter::new(config.limiter),
            meter: Arc::new(Meter::new(
                config.prices.clone(),
                config.limiter.rpm,
                config.limiter.tpm,
            )),
            flights: Cache::new(if config.cache { pool.clone() } else { None }),
            cache_answers: config.cache,
            recorder: pool.map(Recorder::start).unwrap_or_else(Recorder::disabled),
            retry: config.retry,
            max_output_tokens: config.max_output_tokens,
            max_wait: config.max_wait,
            timeout: config.openai.timeout.max(config.anthropic.timeout),
            on_failure: config.on_failure,
            cascade: config.cascade,
        };
        Self {
            routes,
            engine: Some(Arc::new(engine)),
        }
    }

    /// Who answers `stage` (normalization is always rules).
    pub(crate) fn choice(&self, stage: StageName) -> Choice {
        match self.routes.get(&stage) {
            Some(r) if stage != StageName::Normalization => Choice::Llm {
                provider: r.provider.name().to_string(),
                model: r.model.clone(),
            },
            _ => Choice::Rules,
        }
    }

    /// The rules engine's answer.
    pub(crate) fn rules<S: Stage>(input: &S::Input) -> StageOutcome<S::Output> {
        crate::pipeline::driver::Rules::effective().answered::<S>(input)
    }

    /// The cascade's verdict for an LLM stage, from one rules answer: the rules answer when
    /// `--llm-when uncertain` and the rules are confident enough (counted, its provenance saying
    /// why), else ask the LLM (saying why under a cascade). Pure and deterministic, so a Restate
    /// handler may decide on it outside `ctx.run`.
    pub(crate) fn cascade<S: LlmStage>(&self, input: &S::Input) -> Verdict<S::Output> {
        let (Some(engine), Some(_)) = (self.engine.as_ref(), self.routes.get(&S::NAME)) else {
            return Verdict::Ask(None);
        };
        let Some(threshold) = engine.cascade else {
            return Verdict::Ask(None);
        };
        let mut rules = Self::rules::<S>(input);
        let c = S::confidence(&rules.output);
        if c >= threshold {
            engine.meter.cascaded(S::NAME);
            rules.provenance.why = Some(format!("rules confident: {c:.2} >= {threshold:.2}"));
            Verdict::Rules(rules)
        } else {
            Verdict::Ask(Some(format!("rules unsure: {c:.2} < {threshold:.2}")))
        }
    }

    /// Answers stage `S` for `input` (cache, single-flight, LLM), recorded under `run_id`.
    ///
    /// - rules stage: the rules answer;
    /// - a valid LLM answer (fresh or cached): it, with provider and model (`attempts` 0 when it
    ///   came from the cache);
    /// - only invalid answers within `max_invalid`: the rules answer with `fallback = true`;
    /// - 429s, 5xx, timeouts beyond `max_attempts`, or a rejected request: `Err` (the Restate
    ///   handler retries, then falls back itself).
    pub async fn answer_for<'a, S: LlmStage>(
        &self,
        input: &S::Input,
        scope: impl Into<Scope<'a>>,
    ) -> Result<StageOutcome<S::Output>, LlmError> {
        match self.cascade::<S>(input) {
            Verdict::Rules(rules) => Ok(rules),
            Verdict::Ask(why) => self.ask::<S>(input, scope.into(), why).await,
        }
    }

    /// [`Executor::answer_for`] once the cascade said to ask (`why` goes into the provenance).
    pub(crate) async fn ask<S: LlmStage>(
        &self,
        input: &S::Input,
        scope: Scope<'_>,
        why: Option<String>,
    ) -> Result<StageOutcome<S::Output>, LlmError> {
        let (Some(route), Some(engine)) = (self.routes.get(&S::NAME), self.engine.as_ref()) else {
            return Ok(Self::rules::<S>(input));
        };
        let started = Instant::now();
        let prompt = S::prompt(input);
        let key = cache::key(route.provider.name(), &route.model, &prompt);
        let call = Arc::new(Call {
            engine: engine.clone(),
            route: route.clone(),
            prompt,
            run_id: scope.run_id.map(str::to_string),
            stage: S::NAME,
            waited_us: AtomicU64::new(0),
        });
        let flight_key = if engine.cache_answers {
            key.clone()
        } else {
            cache::scoped(&key, scope.run_id, scope.item)
        };
        let (mut flight, mut source) = self.fly::<S>(&call, input, &key, &flight_key).await;
        // A shared or stored answer must still validate for this caller's input.
        if let Ok(hit) = &flight
            && source != Source::Upstream
            && S::parse_answer(input, &hit.answer).is_err()
        {
            tracing::warn!(stage = %S::NAME, key = %key, "cached answer no longer validates; asking again");
            engine.flights.evict(&flight_key).await;
            (flight, source) = self.fly::<S>(&call, input, &key, &flight_key).await;
        }
        let from_cache = matches!(source, Source::Memory | Source::Table);
        if from_cache && flight.is_ok() {
            call.record(
                CallStatus::Cached,
                0,
                Usage::default(),
                0,
                Some(&key),
                None,
                None,
            );
        }
        let outcome = match flight {
            Ok(hit) => match S::parse_answer(input, &hit.answer) {
                Ok(output) => StageOutcome {
                    output,
                    provenance: Provenance {
                        provider: hit.provider,
                        model: hit.model,
                        fallback: false,
                        attempts: if from_cache { 0 } else { hit.attempts },
                        why: None,
                    },
                },
                // Validated when fetched for an equivalent input; if it still fails here the
                // rules engine stands in.
                Err(_) => fallback::<S>(input, hit.attempts),
            },
            Err(Failure {
                kind: FailureKind::Invalid,
                attempts,
                ..
            }) => fallback::<S>(input, attempts),
            Err(Failure {
                kind,
                attempts,
                reason,
            }) => {
                engine
                    .meter
                    .answered(S::NAME, started.elapsed(), Some(false), false);
                return Err(match kind {
                    FailureKind::Rejected => LlmError::Rejected {
                        stage: S::NAME,
                        reason,
                    },
                    _ => LlmError::GaveUp {
                        stage: S::NAME,
                        attempts,
                        reason,
                    },
                });
            }
        };
        let mut outcome = outcome;
        outcome.provenance.why = why;
        let service = started.elapsed().saturating_sub(call.waited());
        engine.meter.answered(
            S::NAME,
            service,
            Some(from_cache),
            outcome.provenance.fallback,
        );
        Ok(outcome)
    }

    /// Joins the flight of `flight_key`, or starts it: `call` asks the provider on the flight's
    /// own task, so the request completes (and is recorded) even if this caller is dropped.
    async fn fly<S: LlmStage>(
        &self,
        call: &Arc<Call>,
        input: &S::Input,
        key: &CacheKey,
        flight_key: &CacheKey,
    ) -> (Flight, Source) {
        let Some(engine) = self.engine.as_ref() else {
            unreachable!("fly is only called with an engine");
        };
        let (call, input, key) = (call.clone(), input.clone(), key.clone());
        engine
            .flights
            .get_or_fetch(flight_key, S::NAME, move || async move {
                call.fetch::<S>(&input, Some(&key)).await
            })
            .await
    }

    /// Like [`Executor::answer_for`] but never fails: when the LLM gives up, the rules engine
    /// stands in (`fallback = true`), as the Restate handler does after its own retries. For
    /// callers without Restate (`eval`, benchmarks).
    pub async fn answer_or_rules<'a, S: LlmStage>(
        &self,
        input: &S::Input,
        scope: impl Into<Scope<'a>>,
    ) -> StageOutcome<S::Output> {
        match self.answer_for::<S>(input, scope).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(stage = %S::NAME, error = %e, "LLM gave up; using rules");
                self.stood_in::<S>(input)
            }
        }
    }

    /// The rules engine's answer where the LLM gave up, counted as a fallback.
    pub(crate) fn stood_in<S: Stage>(&self, input: &S::Input) -> StageOutcome<S::Output> {
        if let Some(e) = &self.engine {
            e.meter.gave_up();
        }
        let mut o = Self::rules::<S>(input);
        o.provenance.fallback = true;
        o
    }

    /// Provider and model per stage, for the run's record.
    pub(crate) fn describe(&self) -> BTreeMap<String, Choice> {
        StageName::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), self.choice(*s)))
            .collect()
    }

    /// Whether any stage uses an LLM.
    pub(crate) fn uses_llm(&self) -> bool {
        self.engine.is_some()
    }

    /// Totals so far (None when every stage is rules).
    pub fn summary(&self) -> Option<LlmSummary> {
        self.engine.as_ref().map(|e| e.meter.summary())
    }

    /// What a stage does when the LLM gives up (`rules` when no stage uses an LLM).
    pub(crate) fn on_failure(&self) -> OnLlmFailure {
        self.engine
            .as_ref()
            .map(|e| e.on_failure)
            .unwrap_or_default()
    }

    /// Longest a call should queue for budget (zero when no stage uses an LLM).
    pub(crate) fn max_wait(&self) -> Duration {
        self.engine.as_ref().map(|e| e.max_wait).unwrap_or_default()
    }

    /// The limiter's queue right now.
    pub(crate) fn backlog(&self) -> Option<Backlog> {
        self.engine.as_ref().map(|e| e.limiter.backlog())
    }

    /// The admission window the LLM budget can serve (Little's law; see `feedback.rs`), or None
    /// when no stage uses an LLM or the budget is unlimited.
    pub(crate) fn suggested_window(&self) -> Option<usize> {
        let e = self.engine.as_ref()?;
        let stages =
            |s: &[StageName]| s.iter().filter(|s| self.routes.contains_key(s)).count() as f64;
        // Final review runs only for flagged records: count it at a third.
        let prior = stages(&[
            StageName::TimeInference,
            StageName::FamilyAssignment,
            StageName::TypeClassification,
            StageName::BooleanReview,
        ]) + stages(&[StageName::FinalReview]) / 3.0;
        feedback::suggested_window(&WindowInputs {
            calls_per_second: e.limiter.calls_per_second(),
            profile: e.meter.profile(),
            prior_calls_per_indicator: prior.max(0.1),
            call_latency: e.limiter.mean_latency(),
            overhead: Duration::from_millis(500),
            max_wait: e.max_wait,
            max_window: 10_000,
        })
    }

    /// Live progress lines: LLM calls/min and tokens/min against budget, 429s, errors, cache hit
    /// rate, queue.
    pub(crate) fn budget_lines(&self) -> Arc<dyn Fn() -> Vec<String> + Send + Sync> {
        let engine = self.engine.clone();
        Arc::new(move || {
            let Some(e) = &engine else { return Vec::new() };
            let s = e.meter.summary();
            let (rpm, tpm) = e.meter.current_rate();
            let budget =
                |b: Option<u32>| b.map(|b| compact(b as f64)).unwrap_or_else(|| "∞".into());
            vec![format!(
                "LLM {}/{} req/min · {}/{} tok/min · 429s {} · errors {} · cache {:.0}% hit · fallbacks {} · {}",
                compact(rpm),
                budget(s.budget_rpm),
                compact(tpm),
                budget(s.budget_tpm),
                s.rate_limited,
                s.errors + s.timeouts,
                s.cache_hit_rate * 100.0,
                s.fallbacks,
                feedback::describe_backlog(&e.limiter.backlog()),
            )]
        })
    }

    /// Waits until every call record so far is written to `llm_calls`.
    pub async fn flush(&self) {
        if let Some(e) = &self.engine {
            e.recorder.flush().await;
        }
    }
}

fn fallback<S: LlmStage>(input: &S::Input, attempts: u32) -> StageOutcome<S::Output> {
    let mut o = Executor::rules::<S>(input);
    o.provenance.fallback = true;
    o.provenance.attempts = attempts;
    o
}

/// One answer's context, owned so that its flight can run on a task of its own.
struct Call {
    engine: Arc<Engine>,
    route: Route,
    prompt: Prompt,
    run_id: Option<String>,
    stage: StageName,
    /// Time this caller queued in the limiter (excluded from service time).
    waited_us: AtomicU64,
}

/// Full-jitter exponential back-off before attempt `n + 1`.
fn backoff(policy: &RetryPolicy, n: u32) -> Duration {
    let cap = policy
        .base_delay
        .saturating_mul(1u32 << n.min(16))
        .min(policy.max_delay);
    cap.mul_f64(rand::random::<f64>())
}

/// `max_tokens` for `prompt`: what its schema can need, never above the configured cap.
fn output_budget(prompt: &Prompt, cap: u32) -> u32 {
    u32::try_from(tokens::answer_bound(&prompt.schema)).map_or(cap, |b| b.min(cap))
}

/// A truncation under a `max_tokens` that the configured cap held below what the schema allows
/// says so: the fix is the setting, not the model.
fn cut_by_the_cap(reason: String, prompt: &Prompt, max_tokens: u32) -> String {
    let bound = tokens::answer_bound(&prompt.schema);
    if reason.starts_with("answer truncated") && u64::from(max_tokens) < bound {
        format!(
            "{reason} at max_tokens {max_tokens}, below the {bound} this answer may need: \
             raise llm.max-output-tokens"
        )
    } else {
        reason
    }
}

fn short(text: &str) -> String {
    text.chars().take(300).collect()
}

impl Call {
    fn waited(&self) -> Duration {
        Duration::from_micros(self.waited_us.load(Ordering::Relaxed))
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        status: CallStatus,
        latency_ms: u64,
        usage: Usage,
        attempt: u32,
        key: Option<&CacheKey>,
        error: Option<String>,
        call_id: Option<&str>,
    ) {
        let rec = self.row(status, latency_ms, usage, attempt, key, error, call_id);
        self.engine.meter.record(&rec);
        self.engine.recorder.record(rec);
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        status: CallStatus,
        latency_ms: u64,
        usage: Usage,
        attempt: u32,
        key: Option<&CacheKey>,
        error: Option<String>,
        call_id: Option<&str>,
    ) -> CallRecord {
        CallRecord {
            at: chrono::Utc::now() - chrono::Duration::milliseconds(latency_ms as i64),
            run_id: self.run_id.clone(),
            stage: self.stage,
            provider: self.route.provider.name().to_string(),
            model: self.route.model.clone(),
            status,
            latency_ms,
            usage,
            attempt,
            cache_key: key.map(|k| k.0.clone()),
            error: error.map(|e| short(&e)),
            call_id: call_id.map(str::to_string),
        }
    }

    /// Asks the provider until a valid answer, the invalid-answer budget or the retry budget is
    /// spent.
    async fn fetch<S: LlmStage>(&self, input: &S::Input, key: Option<&CacheKey>) -> Flight {
        let e = &*self.engine;
        let policy = e.retry;
        let (mut attempts, mut invalid, mut failures) = (0u32, 0u32, 0u32);
        // After an invalid answer the next attempt tells the model what was wrong with it.
        let mut reask: Option<Prompt> = None;
        loop {
            attempts += 1;
            let prompt = reask.as_ref().unwrap_or(&self.prompt);
            // A re-ask carries the previous error too: its estimate is of the prompt sent.
            let estimate = tokens::estimate_prompt(prompt) + e.limiter.expected_output_tokens();
            let permit = e.limiter.acquire(estimate).await;
            self.waited_us
                .fetch_add(permit.waited().as_micros() as u64, Ordering::Relaxed);
            // On record before it is sent: a paid call is never lost with this process.
            let call_id = crate::host::random_token(24);
            let pending = self.row(
                CallStatus::Sent,
                0,
                Usage::default(),
                attempts,
                key,
                None,
                Some(&call_id),
            );
            if let Err(err) = e.recorder.sent(&pending).await {
                e.limiter.settle(permit, CallEnd::Failed);
                tracing::warn!(stage = %self.stage, error = %err, "cannot record an LLM call; not sending it");
                failures += 1;
                if failures >= policy.max_attempts {
                    return Err(Failure {
                        kind: FailureKind::GaveUp,
                        attempts,
                        reason: format!("the call could not be recorded before sending: {err}"),
                    });
                }
                tokio::time::sleep(backoff(&policy, failures - 1)).await;
                continue;
            }
            let sent = Instant::now();
            let max_output_tokens = output_budget(prompt, e.max_output_tokens);
            let req = CompletionRequest {
                model: &self.route.model,
                prompt,
                max_output_tokens,
                request_id: Some(&call_id),
            };
            // The HTTP client has the same timeout; this guard also covers a stuck body read.
            let guard = e.timeout + Duration::from_secs(5);
            let result = match tokio::time::timeout(guard, self.route.provider.complete(req)).await
            {
                Ok(r) => r,
                Err(_) => Err(ProviderError::Timeout(guard)),
            };
            let ms = sent.elapsed().as_millis() as u64;
            let failure = match result {
                Ok(c) => {
                    e.limiter.settle(
                        permit,
                        CallEnd::Answered {
                            usage: c.usage,
                            limits: &c.limits,
                        },
                    );
                    match c
                        .answer
                        .map_err(|r| cut_by_the_cap(r, prompt, max_output_tokens))
                        .and_then(|v| {
                            S::parse_answer(input, &v)
                                .map(|_| v)
                                .map_err(|e| e.to_string())
                        }) {
                        Ok(answer) => {
                            self.record(
                                CallStatus::Ok,
                                ms,
                                c.usage,
                                attempts,
                                key,
                                None,
                                Some(&call_id),
                            );
                            return Ok(CachedAnswer {
                                answer,
                                provider: self.route.provider.name().to_string(),
                                model: self.route.model.clone(),
                                usage: c.usage,
                                attempts,
                            });
                        }
                        Err(reason) => {
                            self.record(
                                CallStatus::Invalid,
                                ms,
                                c.usage,
                                attempts,
                                key,
                                Some(reason.clone()),
                                Some(&call_id),
                            );
                            invalid += 1;
                            tracing::debug!(stage = %self.stage, attempt = attempts, %reason, "invalid LLM answer");
                            reask = Some(self.prompt.with_correction(&reason));
                            if invalid >= policy.max_invalid {
                                return Err(Failure {
                                    kind: FailureKind::Invalid,
                                    attempts,
                                    reason,
                                });
                            }
                            continue;
                        }
                    }
                }
                Err(err) => {
                    let status = match &err {
                        ProviderError::RateLimited { limits, .. } => {
                            e.limiter.settle(permit, CallEnd::RateLimited { limits });
                            CallStatus::RateLimited
                        }
                        ProviderError::Server { limits, .. } => {
                            e.limiter.settle(permit, CallEnd::ServerError { limits });
                            CallStatus::Error
                        }
                        ProviderError::Timeout(_) => {
                            e.limiter.settle(permit, CallEnd::Failed);
                            CallStatus::Timeout
                        }
                        ProviderError::Transport(_) | ProviderError::Rejected { .. } => {
                            e.limiter.settle(permit, CallEnd::Failed);
                            CallStatus::Error
                        }
                    };
                    self.record(
                        status,
                        ms,
                        Usage::default(),
                        attempts,
                        key,
                        Some(err.to_string()),
                        Some(&call_id),
                    );
                    err
                }
            };
            if !failure.is_retryable() {
                tracing::warn!(stage = %self.stage, error = %failure, "LLM request rejected");
                return Err(Failure {
                    kind: FailureKind::Rejected,
                    attempts,
                    reason: failure.to_string(),
                });
            }
            failures += 1;
            if failures >= policy.max_attempts {
                return Err(Failure {
                    kind: FailureKind::GaveUp,
                    attempts,
                    reason: failure.to_string(),
                });
            }
            tracing::debug!(stage = %self.stage, attempt = attempts, error = %failure, "LLM call failed; retrying");
            tokio::time::sleep(backoff(&policy, failures - 1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::StageName;

    #[test]
    fn a_truncation_under_the_cap_names_the_setting() {
        let prompt = Prompt {
            stage: StageName::BooleanReview,
            system: String::new(),
            user: String::new(),
            schema: serde_json::json!({
                "type": "object",
                "properties": {"reasoning": {"type": "string", "pattern": "^[^\\n]{1,600}$"}},
            }),
        };
        let bound = tokens::answer_bound(&prompt.schema) as u32;
        let cut = "answer truncated (finish_reason=length)".to_string();
        let told = cut_by_the_cap(cut.clone(), &prompt, 64);
        assert!(
            told.starts_with(&cut)
                && told.contains("max_tokens 64")
                && told.contains("llm.max-output-tokens"),
            "{told}"
        );
        // At the schema's bound the model itself ran long: nothing to add.
        assert_eq!(cut_by_the_cap(cut.clone(), &prompt, bound), cut);
        assert_eq!(
            cut_by_the_cap("answer is not JSON".into(), &prompt, 64),
            "answer is not JSON"
        );
    }
}
