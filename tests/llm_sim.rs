//! The LLM layer against llm-sim over real HTTP: budgets are kept under load, every fault ends in
//! a valid answer or a recorded rules fallback, identical prompts are answered once, every call
//! is accounted in `llm_calls`, and the Anthropic front-end works end to end.

mod support;
#[path = "support/llm_toy.rs"]
mod toy;

use restate_classify::llm::config::{LlmConfig, ProviderKind};
use restate_classify::llm::limiter::LimiterConfig;
use restate_classify::llm::{Executor, LlmError};
use restate_classify::pipeline::stage::Stage;
use restate_classify::sim::{self, ErrorRates, Latency, SimConfig, SimHandle};
use std::sync::Arc;
use std::time::Duration;
use support::TestPostgres;
use toy::{Toy, ToyInput};

async fn start_sim(tweak: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut c = SimConfig {
        rpm: 0,
        tpm: 0,
        latency: Latency {
            mean: Duration::from_millis(20),
            jitter: Duration::from_millis(10),
        },
        answerer: toy::answerer(),
        ..SimConfig::default()
    };
    tweak(&mut c);
    sim::start(c).await.expect("llm-sim starts")
}

fn config_for(sim: &SimHandle, tweak: impl FnOnce(&mut LlmConfig)) -> LlmConfig {
    let mut c = LlmConfig::for_endpoint(ProviderKind::Openai, &sim.openai_base_url(), "llm-sim")
        .expect("config");
    c.limiter = LimiterConfig {
        rpm: None,
        tpm: None,
        concurrency: 64,
        headroom: 0.9,
    };
    // Every answer asks the simulator unless a test says otherwise.
    c.cascade = None;
    tweak(&mut c);
    c
}

/// Answers every input concurrently (one task each).
async fn answer_all(
    ex: &Arc<Executor>,
    inputs: &[ToyInput],
    run: &str,
) -> Vec<Result<restate_classify::llm::StageOutcome<toy::ToyOutput>, LlmError>> {
    let tasks: Vec<_> = inputs
        .iter()
        .cloned()
        .map(|i| {
            let ex = ex.clone();
            let run = run.to_string();
            tokio::spawn(async move { ex.answer_for::<Toy>(&i, Some(run.as_str())).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_budget_is_never_exceeded_with_more_concurrency_than_budget() {
    // 600 rpm enforced over 2 s windows: at most 20 requests in any 2 s.
    let sim = start_sim(|c| {
        c.rpm = 600;
        c.window = Duration::from_secs(2);
    })
    .await;
    let cfg = config_for(&sim, |c| {
        c.limiter.rpm = Some(600);
        // 80 % keeps ~3 requests of margin per window for scheduling delays on a busy machine.
        c.limiter.headroom = 0.8;
        c.cache = false;
    });
    let ex = Arc::new(Executor::from_config(&cfg, None).unwrap());
    let inputs = toy::inputs(50);
    let results = answer_all(&ex, &inputs, "r").await;
    for (i, r) in inputs.iter().zip(results) {
        let o = r.expect("answered");
        assert_eq!(o.output, Toy::rules(i));
        assert_eq!(
            (o.provenance.provider.as_str(), o.provenance.fallback),
            ("openai", false)
        );
    }
    let st = sim.stats();
    assert_eq!(st.ok, 50, "{st:?}");
    assert_eq!(
        st.rate_limited, 0,
        "the limiter let a request over the budget: {st:?}"
    );
    assert!(
        st.max_arrivals_in_window <= st.limit_requests_per_window,
        "{st:?}"
    );

    // Control: the same load with no client-side budget does exceed it, so the check above can
    // fail.
    let sim2 = start_sim(|c| {
        c.rpm = 600;
        c.window = Duration::from_secs(2);
    })
    .await;
    let cfg2 = config_for(&sim2, |c| {
        c.cache = false;
        c.retry.max_attempts = 1;
    });
    let ex2 = Arc::new(Executor::from_config(&cfg2, None).unwrap());
    let _ = answer_all(&ex2, &inputs, "r").await;
    let st2 = sim2.stats();
    assert!(
        st2.max_arrivals_in_window > st2.limit_requests_per_window && st2.rate_limited > 0,
        "{st2:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_budget_is_never_exceeded() {
    // 1.2M tpm over 3 s windows = 60k tokens per window; each call is ~2.6k tokens.
    let sim = start_sim(|c| {
        c.tpm = 1_200_000;
        c.window = Duration::from_secs(3);
    })
    .await;
    let cfg = config_for(&sim, |c| {
        c.limiter.tpm = Some(1_200_000);
        c.cache = false;
    });
    let ex = Arc::new(Executor::from_config(&cfg, None).unwrap());
    let results = answer_all(&ex, &toy::inputs(45), "r").await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|o| !o.provenance.fallback))
    );
    let st = sim.stats();
    assert_eq!(st.rate_limited, 0, "{st:?}");
    assert!(
        st.max_tokens_in_window <= st.limit_tokens_per_window,
        "{st:?}"
    );
    assert!(
        st.prompt_tokens > 2 * st.limit_tokens_per_window,
        "the test must span several windows: {st:?}"
    );
    let summary = ex.summary().unwrap();
    assert_eq!(
        summary.tokens_in, st.prompt_tokens,
        "usage is read from the responses"
    );
    assert!(
        summary.tokens_cached > 0,
        "cached prompt tokens are read: {summary:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_end_in_valid_answers_or_recorded_fallbacks_and_every_call_is_recorded() {
    let pg = TestPostgres::start().await;
    let pool = toy::pool_with_llm_schema(&pg.url()).await;
    let sim = start_sim(|c| {
        c.faults = ErrorRates::parse("429=0.1,500=0.1,timeout=0.1,malformed=0.15").unwrap();
        c.hang = Duration::from_secs(5);
        c.seed = 42;
    })
    .await;
    let cfg = config_for(&sim, |c| {
        c.openai.timeout = Duration::from_millis(400);
        c.retry.max_attempts = 12;
        c.retry.max_invalid = 2;
        c.retry.base_delay = Duration::from_millis(20);
        c.retry.max_delay = Duration::from_millis(200);
        c.cache = false;
    });
    let ex = Arc::new(Executor::from_config(&cfg, Some(pool.clone())).unwrap());
    let inputs = toy::inputs(60);
    let tasks: Vec<_> = inputs
        .iter()
        .cloned()
        .map(|i| {
            let ex = ex.clone();
            tokio::spawn(async move { ex.answer_or_rules::<Toy>(&i, Some("run-faults")).await })
        })
        .collect();
    let (mut llm, mut fallbacks) = (0, 0);
    for (i, t) in inputs.iter().zip(tasks) {
        let o = t.await.unwrap();
        // Either way the answer is valid (the simulator answers with the same rules).
        assert_eq!(o.output, Toy::rules(i));
        if o.provenance.fallback {
            assert_eq!(o.provenance.provider, "rules");
            fallbacks += 1;
        } else {
            assert_eq!(o.provenance.provider, "openai");
            assert!(o.provenance.attempts >= 1);
            llm += 1;
        }
    }
    assert_eq!(llm + fallbacks, 60);
    let s = ex.summary().unwrap();
    assert!(
        s.rate_limited > 0 && s.errors > 0 && s.timeouts > 0 && s.invalid > 0,
        "every fault kind was exercised: {s:?}"
    );
    assert_eq!(s.fallbacks, fallbacks);
    assert_eq!(s.ok, llm);

    ex.flush().await;
    let counts = restate_classify::db::llm::call_counts(&pool, Some("run-faults"))
        .await
        .unwrap();
    let get = |status: &str| {
        counts
            .iter()
            .find(|(s, _)| s == status)
            .map(|(_, n)| *n as u64)
            .unwrap_or(0)
    };
    assert_eq!(get("ok"), s.ok);
    assert_eq!(get("invalid"), s.invalid);
    assert_eq!(get("429"), s.rate_limited);
    assert_eq!(get("error"), s.errors);
    assert_eq!(get("timeout"), s.timeouts);
    assert_eq!(
        counts.iter().map(|(_, n)| *n as u64).sum::<u64>(),
        s.calls,
        "one row per call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_prompts_are_answered_once_in_process_and_across_runs() {
    let pg = TestPostgres::start().await;
    let pool = toy::pool_with_llm_schema(&pg.url()).await;
    let sim = start_sim(|c| {
        c.latency = Latency {
            mean: Duration::from_millis(300),
            jitter: Duration::ZERO,
        }
    })
    .await;
    let cfg = config_for(&sim, |_| {});
    let same = vec![toy::inputs(1)[0].clone(); 20];

    let first = Arc::new(Executor::from_config(&cfg, Some(pool.clone())).unwrap());
    let results = answer_all(&first, &same, "run-1").await;
    assert_eq!(
        sim.stats().requests,
        1,
        "20 concurrent identical prompts, one upstream call"
    );
    let attempts: Vec<u32> = results
        .iter()
        .map(|r| r.as_ref().unwrap().provenance.attempts)
        .collect();
    assert_eq!(attempts.iter().filter(|a| **a == 1).count(), 1);
    assert_eq!(
        attempts.iter().filter(|a| **a == 0).count(),
        19,
        "the others came from the cache"
    );
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().unwrap().output == Toy::rules(&same[0]))
    );
    assert!((first.summary().unwrap().cache_hit_rate - 0.95).abs() < 1e-9);

    // A new process (fresh memory) finds the answer in llm_cache.
    let second = Executor::from_config(&cfg, Some(pool.clone())).unwrap();
    let o = second
        .answer_for::<Toy>(&same[0], Some("run-2"))
        .await
        .unwrap();
    assert_eq!(
        (o.provenance.provider.as_str(), o.provenance.attempts),
        ("openai", 0)
    );
    assert_eq!(sim.stats().requests, 1);

    // --no-cache asks again.
    let mut no_cache = cfg.clone();
    no_cache.cache = false;
    let third = Executor::from_config(&no_cache, Some(pool.clone())).unwrap();
    third
        .answer_for::<Toy>(&same[0], Some("run-3"))
        .await
        .unwrap();
    assert_eq!(sim.stats().requests, 2);

    for ex in [&*first, &second, &third] {
        ex.flush().await;
    }
    let rows = |run: &'static str| {
        let pool = pool.clone();
        async move {
            restate_classify::db::llm::call_counts(&pool, Some(run))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        rows("run-1").await,
        vec![("cached".to_string(), 19), ("ok".to_string(), 1)]
    );
    assert_eq!(rows("run-2").await, vec![("cached".to_string(), 1)]);
    assert_eq!(rows("run-3").await, vec![("ok".to_string(), 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_messages_through_the_simulator() {
    let sim = start_sim(|_| {}).await;
    let mut cfg = LlmConfig::for_endpoint(
        ProviderKind::Anthropic,
        &sim.anthropic_base_url(),
        "claude-sim",
    )
    .unwrap();
    cfg.cache = false;
    let ex = Executor::from_config(&cfg, None).unwrap();
    for i in toy::inputs(3) {
        let o = ex.answer_for::<Toy>(&i, None).await.unwrap();
        assert_eq!(o.output, Toy::rules(&i));
        assert_eq!(
            (o.provenance.provider.as_str(), o.provenance.model.as_str()),
            ("anthropic", "claude-sim")
        );
    }
    let s = ex.summary().unwrap();
    assert_eq!(s.ok, 3);
    // The long system prompt is written to the simulated cache once and read afterwards.
    assert!(s.tokens_cached > 0, "{s:?}");
    assert_eq!(sim.stats().ok, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_and_models_endpoints_say_simulator() {
    let sim = start_sim(|_| {}).await;
    let http = reqwest::Client::new();
    let models: serde_json::Value = http
        .get(format!("{}/models", sim.openai_base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "llm-sim");
    let stats: serde_json::Value = http
        .get(format!("{}/stats", sim.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["simulator"], "llm-sim");
    assert_eq!(stats["requests"], 0);
}

/// An unthrottled simulator answering the real stages and prompts with
/// `pipeline::rules_answer`, and the labelled dev set.
async fn rules_sim_and_dev_set() -> (
    SimHandle,
    Vec<restate_classify::pipeline::eval::LabelledRecord>,
) {
    let sim = sim::start(SimConfig {
        rpm: 0,
        tpm: 0,
        latency: Latency::default(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/dev-set.json"
    ))
    .unwrap();
    let records = restate_classify::pipeline::eval::parse_dataset(&text).unwrap();
    (sim, records)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_stages_through_the_simulator_give_the_rules_answers_with_and_without_cache() {
    use restate_classify::llm::classify::classify_record;
    use restate_classify::pipeline::classify_with_rules;
    let (sim, records) = rules_sim_and_dev_set().await;
    for cache in [true, false] {
        let cfg = config_for(&sim, |c| c.cache = cache);
        let ex = Executor::from_config(&cfg, None).unwrap();
        for r in &records {
            let got = classify_record(&ex, &r.record, None).await;
            assert_eq!(
                got.classification,
                classify_with_rules(&r.record),
                "{} (cache {cache})",
                r.record.id
            );
            assert!(
                got.provenance.iter().all(|(s, p)| !p.fallback
                    && p.provider
                        == if *s == restate_classify::pipeline::StageName::Normalization {
                            "rules"
                        } else {
                            "openai"
                        }),
                "{:?}",
                got.provenance
            );
        }
        let s = ex.summary().unwrap();
        assert_eq!(
            (s.invalid, s.fallbacks),
            (0, 0),
            "every real answer validates: {s:?}"
        );
        if !cache {
            assert_eq!(s.cache_hits, 0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cascade_asks_only_where_the_rules_are_unsure_and_says_why() {
    use restate_classify::llm::classify::classify_record;
    use restate_classify::pipeline::{StageName, classify_with_rules};
    let (sim, records) = rules_sim_and_dev_set().await;
    let mut upstream = Vec::new();
    for cascade in [None, Some(0.8)] {
        // No cache: every answer the LLM gives is an upstream call, so the counts compare.
        let cfg = config_for(&sim, |c| {
            c.cache = false;
            c.cascade = cascade;
        });
        let ex = Executor::from_config(&cfg, None).unwrap();
        let (mut asked, mut left) = (0u64, 0u64);
        for r in &records {
            let got = classify_record(&ex, &r.record, None).await;
            assert_eq!(
                got.classification,
                classify_with_rules(&r.record),
                "{}",
                r.record.id
            );
            for (stage, p) in &got.provenance {
                if *stage == StageName::Normalization {
                    continue;
                }
                match (cascade, p.provider.as_str(), p.why.as_deref()) {
                    (None, "openai", None) => asked += 1,
                    (Some(_), "openai", Some(why)) if why.starts_with("rules unsure") => asked += 1,
                    (Some(_), "rules", Some(why)) if why.starts_with("rules confident") => {
                        left += 1
                    }
                    other => panic!("{} {stage}: unexpected provenance {other:?}", r.record.id),
                }
            }
        }
        let s = ex.summary().unwrap();
        assert_eq!(s.rules_confident, left, "{s:?}");
        assert_eq!(
            s.ok, asked,
            "each asked answer is one valid upstream call: {s:?}"
        );
        if cascade.is_some() {
            assert!(
                left > 0 && asked > 0,
                "the dev set has sure and unsure stages: {left} {asked}"
            );
        } else {
            assert_eq!(left, 0);
        }
        upstream.push(s.upstream_calls);
    }
    assert!(
        upstream[1] * 2 < upstream[0],
        "the cascade at 0.8 should at least halve the upstream calls: {upstream:?}"
    );
}
