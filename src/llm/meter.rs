//! Live LLM accounting in memory: calls by status, tokens, cache hits, the last minute's rate,
//! per-stage answer times (for the admission window), and the end-of-run [`LlmSummary`] with an
//! estimated cost.

use super::calls::{CallRecord, CallStatus};
use super::config::PriceTable;
use super::provider::Usage;
use crate::pipeline::stage::StageName;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window over which the live rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Default, Clone, Copy)]
struct StageTimes {
    answers: u64,
    upstream_calls: u64,
    service_s: f64,
}

#[derive(Debug, Default, Clone)]
struct ModelTotals {
    calls: u64,
    upstream: u64,
    usage: Usage,
}

#[derive(Debug, Default)]
struct State {
    by_status: BTreeMap<CallStatus, u64>,
    models: BTreeMap<(String, String), ModelTotals>,
    recent: VecDeque<(Instant, u64)>,
    first_upstream: Option<Instant>,
    last_upstream: Option<Instant>,
    /// Every upstream call's time, for the steady-state rate.
    upstream_at: Vec<Instant>,
    stages: BTreeMap<StageName, StageTimes>,
    lookups: u64,
    hits: u64,
    fallbacks: u64,
    rules_confident: u64,
    usage: Usage,
}

/// Live counters.
#[derive(Debug)]
pub(crate) struct Meter {
    state: Mutex<State>,
    prices: PriceTable,
    budget_rpm: Option<u32>,
    budget_tpm: Option<u32>,
}

/// Totals of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSummary {
    /// Provider.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Calls, cached included.
    pub calls: u64,
    /// Calls that went to the provider.
    pub upstream_calls: u64,
    /// Input tokens billed.
    pub tokens_in: u64,
    /// Output tokens billed.
    pub tokens_out: u64,
    /// Input tokens read from the provider's prompt cache.
    pub tokens_cached: u64,
    /// Estimated cost (None when the price table has no entry for the model).
    pub estimated_cost_usd: Option<f64>,
}

/// What the LLM layer did in this process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmSummary {
    /// Call records (upstream attempts plus cache hits).
    pub calls: u64,
    /// Attempts sent to a provider.
    pub upstream_calls: u64,
    /// Answers served from the cache (in-process or table).
    pub cache_hits: u64,
    /// Cache hits over answers that consulted the cache.
    pub cache_hit_rate: f64,
    /// Valid answers from a provider.
    pub ok: u64,
    /// Answers rejected by validation.
    pub invalid: u64,
    /// 429s.
    pub rate_limited: u64,
    /// Server, transport and rejection errors.
    pub errors: u64,
    /// Timeouts.
    pub timeouts: u64,
    /// Answers where the rules engine stood in for the LLM (after invalid answers, or when it
    /// gave up: retries spent, request rejected).
    pub fallbacks: u64,
    /// Answers of LLM stages the cascade (`--llm-when uncertain`) left to confident rules.
    pub rules_confident: u64,
    /// Input tokens billed.
    pub tokens_in: u64,
    /// Output tokens billed.
    pub tokens_out: u64,
    /// Input tokens read from the provider's prompt cache.
    pub tokens_cached: u64,
    /// From the first to the last upstream call, seconds.
    pub active_s: f64,
    /// Upstream calls per minute over the active period.
    pub achieved_rpm: f64,
    /// Tokens per minute over the active period.
    pub achieved_tpm: f64,
    /// Upstream calls per minute in the steady state: between the 5th and the 95th percentile
    /// of call times, which leaves out the ramp-up and the tail (None for fewer than 50 calls
    /// or a steady state shorter than 30 s).
    pub steady_rpm: Option<f64>,
    /// `steady_rpm` over the requests-per-minute budget.
    pub steady_use: Option<f64>,
    /// Requests-per-minute budget.
    pub budget_rpm: Option<u32>,
    /// Tokens-per-minute budget.
    pub budget_tpm: Option<u32>,
    /// Estimated cost of the priced models.
    pub estimated_cost_usd: f64,
    /// Models without a price (their cost is not in the estimate).
    pub unpriced_models: Vec<String>,
    /// Per model.
    pub models: Vec<ModelSummary>,
}

/// Shape of the stage mix, for Little's law.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct IndicatorProfile {
    /// Indicators seen (answers of the most-asked stage).
    pub indicators: u64,
    /// Upstream calls per indicator.
    pub upstream_calls_per_indicator: f64,
    /// Time an indicator spends in LLM answers (service time, queueing excluded).
    pub llm_time_per_indicator: Duration,
}

impl Meter {
    /// A meter reporting against the given budgets and prices.
    pub(crate) fn new(
        prices: PriceTable,
        budget_rpm: Option<u32>,
        budget_tpm: Option<u32>,
    ) -> Self {
        Self {
            state: Mutex::new(State::default()),
            prices,
            budget_rpm,
            budget_tpm,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain counters: a poisoned lock still holds usable numbers.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a call.
    pub(crate) fn record(&self, rec: &CallRecord) {
        let now = Instant::now();
        let mut s = self.state();
        *s.by_status.entry(rec.status).or_default() += 1;
        let m = s
            .models
            .entry((rec.provider.clone(), rec.model.clone()))
            .or_default();
        m.calls += 1;
        add(&mut m.usage, rec.usage);
        if rec.status.is_upstream() {
            m.upstream += 1;
            let u = rec.usage;
            add(&mut s.usage, u);
            s.recent.push_back((now, u.total()));
            s.first_upstream.get_or_insert(now);
            s.last_upstream = Some(now);
            s.upstream_at.push(now);
            s.stages.entry(rec.stage).or_default().upstream_calls += 1;
        }
        while s
            .recent
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            s.recent.pop_front();
        }
    }

    /// Counts one stage answer and the time it took without queueing for budget.
    pub(crate) fn answered(
        &self,
        stage: StageName,
        service: Duration,
        via_cache: Option<bool>,
        fallback: bool,
    ) {
        let mut s = self.state();
        let t = s.stages.entry(stage).or_default();
        t.answers += 1;
        t.service_s += service.as_secs_f64();
        if let Some(hit) = via_cache {
            s.lookups += 1;
            s.hits += u64::from(hit);
        }
        s.fallbacks += u64::from(fallback);
    }

    /// The cascade left an answer of `stage` to the confident rules engine.
    pub(crate) fn cascaded(&self, stage: StageName) {
        let mut s = self.state();
        s.stages.entry(stage).or_default().answers += 1;
        s.rules_confident += 1;
    }

    /// The rules engine stood in for a stage the LLM gave up on (retries spent, request
    /// rejected): a fallback like one after invalid answers.
    pub(crate) fn gave_up(&self) {
        self.state().fallbacks += 1;
    }

    /// Upstream calls and tokens in the last minute (scaled up while less than a minute has
    /// passed since the first call).
    pub(crate) fn current_rate(&self) -> (f64, f64) {
        let now = Instant::now();
        let s = self.state();
        let span = s
            .first_upstream
            .map(|t| {
                now.duration_since(t)
                    .clamp(Duration::from_secs(5), RATE_WINDOW)
            })
            .unwrap_or(RATE_WINDOW);
        let recent = s
            .recent
            .iter()
            .filter(|(t, _)| now.duration_since(*t) <= RATE_WINDOW);
        let (n, tok) = recent.fold((0u64, 0u64), |(n, k), (_, t)| (n + 1, k + t));
        let scale = 60.0 / span.as_secs_f64();
        (n as f64 * scale, tok as f64 * scale)
    }

    /// Calls and answer times per indicator so far.
    pub(crate) fn profile(&self) -> IndicatorProfile {
        let s = self.state();
        let indicators = s.stages.values().map(|t| t.answers).max().unwrap_or(0);
        let upstream: u64 = s.stages.values().map(|t| t.upstream_calls).sum();
        let service: f64 = s.stages.values().map(|t| t.service_s).sum();
        let per = |x: f64| {
            if indicators == 0 {
                0.0
            } else {
                x / indicators as f64
            }
        };
        IndicatorProfile {
            indicators,
            upstream_calls_per_indicator: per(upstream as f64),
            llm_time_per_indicator: Duration::from_secs_f64(per(service)),
        }
    }

    /// The totals so far.
    pub(crate) fn summary(&self) -> LlmSummary {
        let s = self.state();
        let count = |st: CallStatus| s.by_status.get(&st).copied().unwrap_or(0);
        let upstream: u64 = s
            .by_status
            .iter()
            .filter(|(k, _)| k.is_upstream())
            .map(|(_, v)| v)
            .sum();
        let active = match (s.first_upstream, s.last_upstream) {
            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        let minutes = (active.max(1.0)) / 60.0;
        let steady_rpm = s.first_upstream.and_then(|t0| {
            let at: Vec<f64> = s
                .upstream_at
                .iter()
                .map(|t| t.duration_since(t0).as_secs_f64())
                .collect();
            steady_rate(&at)
        });
        let mut unpriced = Vec::new();
        let models: Vec<ModelSummary> = s
            .models
            .iter()
            .map(|((provider, model), t)| {
                let cost = self.prices.cost(model, t.usage);
                if cost.is_none() && t.usage.total() > 0 {
                    unpriced.push(model.clone());
                }
                ModelSummary {
                    provider: provider.clone(),
                    model: model.clone(),
                    calls: t.calls,
                    upstream_calls: t.upstream,
                    tokens_in: t.usage.input,
                    tokens_out: t.usage.output,
                    tokens_cached: t.usage.cached,
                    estimated_cost_usd: cost,
                }
            })
            .collect();
        LlmSummary {
            calls: s.by_status.values().sum(),
            upstream_calls: upstream,
            cache_hits: s.hits,
            cache_hit_rate: if s.lookups == 0 {
                0.0
            } else {
                s.hits as f64 / s.lookups as f64
            },
            ok: count(CallStatus::Ok),
            invalid: count(CallStatus::Invalid),
            rate_limited: count(CallStatus::RateLimited),
            errors: count(CallStatus::Error),
            timeouts: count(CallStatus::Timeout),
            fallbacks: s.fallbacks,
            rules_confident: s.rules_confident,
            tokens_in: s.usage.input,
            tokens_out: s.usage.output,
            tokens_cached: s.usage.cached,
            active_s: active,
            achieved_rpm: if upstream == 0 {
                0.0
            } else {
                upstream as f64 / minutes
            },
            achieved_tpm: if upstream == 0 {
                0.0
            } else {
                s.usage.total() as f64 / minutes
            },
            steady_rpm,
            steady_use: steady_rpm
                .zip(self.budget_rpm)
                .map(|(r, b)| r / f64::from(b.max(1))),
            budget_rpm: self.budget_rpm,
            budget_tpm: self.budget_tpm,
            // A fold from +0.0: `sum()` of no priced models is -0.0, printed as "-0.0" in JSON.
            estimated_cost_usd: models
                .iter()
                .filter_map(|m| m.estimated_cost_usd)
                .fold(0.0, |a, c| a + c),
            unpriced_models: unpriced,
            models,
        }
    }
}

/// Calls per minute between the 5th and 95th percentile of `at` (seconds, ascending): the
/// steady state without ramp-up and tail. None for fewer than 50 calls or under 30 s.
pub(crate) fn steady_rate(at: &[f64]) -> Option<f64> {
    let n = at.len();
    if n < 50 {
        return None;
    }
    let (lo, hi) = (n * 5 / 100, n * 95 / 100);
    let span = at[hi] - at[lo];
    (span >= 30.0).then(|| (hi - lo) as f64 / span * 60.0)
}

/// One line for the end of a run: who answered the stages (each answer counted once), what
/// the upstream calls did, achieved and steady-state rates against the budget, tokens and cost
/// (said to be unknown where a model has no price, never shown as $0).
pub(crate) fn describe_summary(s: &LlmSummary) -> String {
    let budget = |b: Option<u32>| b.map_or("unlimited".to_string(), |b| compact(b as f64));
    let steady = match (s.steady_rpm, s.steady_use) {
        (Some(r), Some(u)) => format!(
            "; steady state {r:.0} req/min = {:.1}% of budget",
            u * 100.0
        ),
        (Some(r), None) => format!("; steady state {r:.0} req/min"),
        _ => String::new(),
    };
    let cost = match (s.unpriced_models.is_empty(), s.estimated_cost_usd) {
        (true, c) => format!("~${c:.4}"),
        (false, c) if c > 0.0 => format!("~${c:.4} plus unpriced {}", s.unpriced_models.join(", ")),
        (false, _) => format!(
            "cost unknown (no price for {})",
            s.unpriced_models.join(", ")
        ),
    };
    let answers = s.ok + s.cache_hits + s.rules_confident + s.fallbacks;
    format!(
        "LLM: {answers} stage answers: {} from the LLM, {} from the cache ({:.0}% hit rate), {} by confident rules, {} by the rules standing in; {} upstream calls ({} invalid, {} rate-limited, {} errors, {} timeouts); {:.0} req/min and {} tok/min over the active {:.0}s (budget {} req/min, {} tok/min){steady}; tokens in {} (cached {}), out {}; {cost}",
        s.ok,
        s.cache_hits,
        s.cache_hit_rate * 100.0,
        s.rules_confident,
        s.fallbacks,
        s.upstream_calls,
        s.invalid,
        s.rate_limited,
        s.errors,
        s.timeouts,
        s.achieved_rpm,
        compact(s.achieved_tpm),
        s.active_s,
        budget(s.budget_rpm),
        budget(s.budget_tpm),
        compact(s.tokens_in as f64),
        compact(s.tokens_cached as f64),
        compact(s.tokens_out as f64),
    )
}

fn add(a: &mut Usage, b: Usage) {
    a.input += b.input;
    a.output += b.output;
    a.cached += b.cached;
}

/// `1234567` → `1.2M`, `12345` → `12k`.
pub(crate) fn compact(n: f64) -> String {
    match n {
        n if n >= 1e6 => format!("{:.1}M", n / 1e6),
        n if n >= 1e4 => format!("{:.0}k", n / 1e3),
        n => format!("{n:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::config::Price;

    #[test]
    fn steady_rate_leaves_out_ramp_up_and_tail() {
        // 10 s of ramp-up at 1 call/s, 100 s at 15 calls/s, a 20 s tail at 1 call/s.
        let mut at: Vec<f64> = (0..10).map(f64::from).collect();
        at.extend((0..1500).map(|i| 10.0 + f64::from(i) / 15.0));
        at.extend((0..20).map(|i| 110.0 + f64::from(i)));
        let r = steady_rate(&at).unwrap();
        assert!((r - 900.0).abs() < 20.0, "{r}");
        // Whole-run average is far lower: the steady state is what the budget is judged by.
        assert!((at.len() as f64) / (at[at.len() - 1] / 60.0) < 750.0);
        assert_eq!(steady_rate(&at[..40]), None, "too few calls");
        let short: Vec<f64> = (0..100).map(|i| f64::from(i) / 10.0).collect();
        assert_eq!(steady_rate(&short), None, "too short to be steady");
    }

    fn rec(status: CallStatus, input: u64, output: u64) -> CallRecord {
        CallRecord {
            at: chrono::Utc::now(),
            run_id: None,
            stage: StageName::FamilyAssignment,
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            status,
            latency_ms: 10,
            usage: Usage {
                input,
                output,
                cached: 0,
            },
            attempt: 1,
            cache_key: None,
            error: None,
            call_id: None,
        }
    }

    #[test]
    fn summary_counts_statuses_tokens_and_cost() {
        let mut prices = PriceTable::default();
        prices.0.insert(
            "gpt-4o-mini".into(),
            Price {
                input: 0.15,
                output: 0.60,
                cached_input: None,
            },
        );
        let m = Meter::new(prices, Some(900), None);
        m.record(&rec(CallStatus::Ok, 1_000_000, 0));
        m.record(&rec(CallStatus::Invalid, 0, 1_000_000));
        m.record(&rec(CallStatus::Cached, 0, 0));
        m.answered(
            StageName::FamilyAssignment,
            Duration::from_secs(1),
            Some(false),
            false,
        );
        m.answered(
            StageName::FamilyAssignment,
            Duration::from_secs(1),
            Some(true),
            false,
        );
        let s = m.summary();
        assert_eq!((s.calls, s.upstream_calls, s.ok, s.invalid), (3, 2, 1, 1));
        assert_eq!(s.cache_hits, 1);
        assert!((s.cache_hit_rate - 0.5).abs() < 1e-9);
        assert!(
            (s.estimated_cost_usd - 0.75).abs() < 1e-9,
            "{}",
            s.estimated_cost_usd
        );
        assert!(s.unpriced_models.is_empty());
        let unpriced = Meter::new(PriceTable::default(), None, None);
        unpriced.record(&rec(CallStatus::Ok, 10, 10));
        let u = unpriced.summary();
        assert_eq!(u.unpriced_models.len(), 1, "{u:?}");
        assert!(
            u.estimated_cost_usd == 0.0 && u.estimated_cost_usd.is_sign_positive(),
            "no priced model costs +0, not {:?}",
            u.estimated_cost_usd
        );
        let p = m.profile();
        assert_eq!(p.indicators, 2);
        assert!((p.upstream_calls_per_indicator - 1.0).abs() < 1e-9);
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(1_234_567.0), "1.2M");
        assert_eq!(compact(12_345.0), "12k");
        assert_eq!(compact(999.0), "999");
    }
}
