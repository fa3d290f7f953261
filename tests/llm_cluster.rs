//! End to end through a real 3-node cluster: `classify --provider openai` against llm-sim.
//! Every stored LLM stage result names the simulator's model, no call is rate limited, and the
//! calls are accounted in `llm_calls` under the run. Under injected faults (429s, 5xx, timeouts,
//! malformed answers) every indicator still ends with a stored valid result; with
//! `--on-llm-failure fail` an LLM that cannot answer leaves failed rows with their reason, and
//! `classify --retry-failed` classifies exactly those once the LLM is back.

mod support;

use restate_classify::sim::{self, ErrorRates, Latency, SimConfig};
use std::time::Duration;
use support::TestCluster;

/// A client of the test cluster's database.
async fn db(cluster: &TestCluster) -> tokio_postgres::Client {
    let creds: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cluster.state_dir().join("credentials.json")).unwrap(),
    )
    .unwrap();
    let url = format!(
        "postgres://classify:{}@127.0.0.1:{}/classify",
        creds["postgres_password"].as_str().unwrap(),
        cluster.spec().database.port
    );
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

fn summary_of(out: &support::CliOutput) -> serde_json::Value {
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "summary JSON ({e}):\nstdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        )
    })
}

/// Checks a `classify --json` run's exit code and (total, classified, failed); returns its id.
fn finished(out: &support::CliOutput, code: i32, counts: (u64, u64, u64)) -> String {
    assert_eq!(out.code, code, "{}\n{}", out.stdout, out.stderr);
    let s = summary_of(out);
    let got = (
        s["total"].as_u64(),
        s["classified"].as_u64(),
        s["failed"].as_u64(),
    );
    assert_eq!(got, (Some(counts.0), Some(counts.1), Some(counts.2)), "{s}");
    s["run_id"].as_str().unwrap_or_default().to_string()
}

async fn start_sim(rpm: u32, faults: &str) -> sim::SimHandle {
    sim::start(SimConfig {
        rpm,
        tpm: 2_000_000,
        latency: Latency {
            mean: Duration::from_millis(100),
            jitter: Duration::from_millis(50),
        },
        faults: ErrorRates::parse(faults).expect("fault rates"),
        hang: Duration::from_secs(30),
        seed: 7,
        ..SimConfig::default()
    })
    .await
    .expect("llm-sim")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_end_in_stored_results_and_failures_are_stored_and_retried() {
    let _guard = support::cluster_lock().await;
    let cluster = TestCluster::new(3);
    cluster.start();
    cluster.ok(&["db", "seed"]);
    let client = db(&cluster).await;
    // Short HTTP timeout so injected hangs cost little; few attempts per answer.
    let config = cluster.state_dir().join("llm-test.yaml");
    std::fs::write(&config, "llm:\n  timeout-s: 1.5\n  max-attempts: 3\n").unwrap();
    let config = config.to_str().unwrap().to_string();
    let llm = |base: &str| {
        vec![
            "--config".to_string(),
            config.clone(),
            "--provider".into(),
            "openai".into(),
            "--llm-base-url".into(),
            base.to_string(),
            "--model".into(),
            "llm-sim".into(),
            "--llm-when".into(),
            "all".into(),
            "--json".into(),
        ]
    };
    let run = |extra: &[&str], base: &str| {
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        args.splice(0..0, ["classify".to_string()]);
        args.extend(llm(base));
        cluster.cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // 1. The fault mix: every indicator ends classified with a valid stored result.
    let faulty = start_sim(900, "429=0.1,500=0.05,timeout=0.02,malformed=0.05").await;
    let out = run(&["--force", "--limit", "120"], &faulty.openai_base_url());
    let run_id = finished(&out, 0, (120, 120, 0));
    let st = faulty.stats();
    assert!(
        st.injected_429 > 0 && st.injected_500 > 0 && st.injected_malformed > 0,
        "faults were injected: {st:?}"
    );
    let valid: i64 = client
        .query_one(
            "SELECT count(*) FROM classifications WHERE run_id = $1 AND status = 'classified' \
             AND family IS NOT NULL AND indicator_type IS NOT NULL AND error IS NULL",
            &[&run_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(valid, 120);
    for table in [
        "stage_time_inference",
        "stage_family_assignment",
        "stage_type_classification",
        "stage_boolean_review",
    ] {
        let n: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE run_id = $1"),
                &[&run_id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 120, "{table}");
    }
    let faults_seen: Vec<String> = client
        .query(
            "SELECT DISTINCT status FROM llm_calls WHERE run_id = $1 ORDER BY 1",
            &[&run_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for status in ["429", "error", "invalid", "ok"] {
        assert!(
            faults_seen.iter().any(|s| s == status),
            "{status} in {faults_seen:?}"
        );
    }

    // 2. An LLM that cannot answer, with --on-llm-failure fail: every indicator is stored as
    //    failed with the reason (none dropped, none answered by rules), exit code 1.
    let down = start_sim(900, "500=1.0").await;
    let out = run(
        &[
            "--force",
            "--limit",
            "8",
            "--no-cache",
            "--on-llm-failure",
            "fail",
        ],
        &down.openai_base_url(),
    );
    let failed_run = finished(&out, 1, (8, 0, 8));
    let reasons: Vec<String> = client
        .query(
            "SELECT error FROM classifications WHERE run_id = $1 AND status = 'failed'",
            &[&failed_run],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default())
        .collect();
    assert_eq!(reasons.len(), 8);
    for r in &reasons {
        assert!(
            r.contains("time-inference: the LLM gave no valid answer"),
            "{r}"
        );
    }

    // 3. The LLM is back: --retry-failed classifies exactly the failed ones.
    let healthy = start_sim(900, "").await;
    let out = run(
        &["--retry-failed", "--on-llm-failure", "fail"],
        &healthy.openai_base_url(),
    );
    let retried_run = finished(&out, 0, (8, 8, 0));
    let same: i64 = client
        .query_one(
            "SELECT count(*) FROM classifications a JOIN classifications b USING (indicator_id) \
             WHERE a.run_id = $1 AND a.status = 'failed' AND b.run_id = $2 AND b.status = 'classified'",
            &[&failed_run, &retried_run],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(same, 8, "the retried indicators are the failed ones");
    let out = run(&["--retry-failed"], &healthy.openai_base_url());
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(summary_of(&out)["total"], 0, "nothing left to retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_through_the_cluster_with_llm_sim() {
    let _guard = support::cluster_lock().await;
    let sim = sim::start(SimConfig {
        rpm: 900,
        tpm: 2_000_000,
        latency: Latency {
            mean: Duration::from_millis(100),
            jitter: Duration::from_millis(50),
        },
        ..SimConfig::default()
    })
    .await
    .expect("llm-sim");
    let cluster = TestCluster::new(3);
    cluster.start();
    cluster.ok(&["db", "seed"]);
    let base = sim.openai_base_url();
    // 150 indicators through the simulator, asking the LLM `when`; the --json summary.
    let classify = |when: &str, extra: &[&str]| {
        let mut args = vec!["classify", "--force", "--limit", "150", "--json"];
        args.extend([
            "--provider",
            "openai",
            "--llm-base-url",
            &base,
            "--model",
            "llm-sim",
        ]);
        args.extend(["--llm-when", when, "--rpm", "900"]);
        args.extend(extra);
        let out = cluster.ok(&args);
        let summary: serde_json::Value =
            serde_json::from_str(out.stdout.trim()).expect("summary JSON");
        assert_eq!(summary["classified"], 150, "{summary}");
        assert_eq!(summary["failed"], 0, "{summary}");
        summary
    };
    let summary = classify("all", &[]);
    let run_id = summary["run_id"].as_str().expect("run id").to_string();

    let st = sim.stats();
    assert_eq!(st.rate_limited, 0, "{st:?}");
    assert!(
        st.ok > 0 && st.ok < 150 * 4,
        "identical prompts are answered once: {st:?}"
    );

    let client = db(&cluster).await;
    let rows = client
        .query(
            "SELECT provider, model, fallback, count(*) FROM stage_family_assignment WHERE run_id = $1 GROUP BY 1, 2, 3",
            &[&run_id],
        )
        .await
        .unwrap();
    let got: Vec<(String, String, bool, i64)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        got,
        vec![("openai".to_string(), "llm-sim".to_string(), false, 150)]
    );
    let calls: i64 = client
        .query_one(
            "SELECT count(*) FROM llm_calls WHERE run_id = $1 AND status = 'ok'",
            &[&run_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(calls as u64, st.ok, "one ok row per upstream answer");

    // The cascade on the same indicators: each LLM stage's stored provenance says who answered
    // and why, and only the unsure answers reached the simulator.
    let summary = classify("uncertain", &["--no-cache"]);
    let run_id = summary["run_id"].as_str().expect("run id").to_string();
    let confident = summary["llm"]["rules_confident"]
        .as_u64()
        .expect("llm.rules_confident");
    assert!(confident > 0, "{summary}");
    assert_eq!(
        sim.stats().ok - st.ok,
        summary["llm"]["upstream_calls"].as_u64().unwrap(),
        "only the unsure answers were sent: {summary}"
    );
    let rows = client
        .query(
            "SELECT p.key, p.value->>'provider', p.value->>'why' FROM classifications c, \
             jsonb_each(c.providers) p WHERE c.run_id = $1 AND p.key <> 'normalization'",
            &[&run_id],
        )
        .await
        .unwrap();
    let mut left = 0u64;
    for r in &rows {
        let (stage, provider, why): (String, String, Option<String>) =
            (r.get(0), r.get(1), r.get(2));
        let why = why.unwrap_or_else(|| panic!("{stage}: no why in the stored provenance"));
        match provider.as_str() {
            "rules" => {
                assert!(why.starts_with("rules confident"), "{stage}: {why}");
                left += 1;
            }
            "openai" => assert!(why.starts_with("rules unsure"), "{stage}: {why}"),
            other => panic!("{stage}: provider {other}"),
        }
    }
    assert_eq!(
        left, confident,
        "the stored provenance agrees with the summary"
    );
}
