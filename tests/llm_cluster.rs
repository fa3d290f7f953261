//! End to end through a real 3-node cluster: `classify --provider openai` against llm-sim.
//! Every stored LLM stage result names the simulator's model, no call is rate limited, and the
//! calls are accounted in `llm_calls` under the run.

mod support;

use restate_classify::sim::{self, Latency, SimConfig};
use std::time::Duration;
use support::TestCluster;

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
    let out = cluster.ok(&[
        "classify",
        "--force",
        "--limit",
        "150",
        "--json",
        "--provider",
        "openai",
        "--llm-base-url",
        &base,
        "--model",
        "llm-sim",
        "--rpm",
        "900",
    ]);
    let summary: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("summary JSON");
    assert_eq!(summary["classified"], 150, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    let run_id = summary["run_id"].as_str().expect("run id").to_string();

    let st = sim.stats();
    assert_eq!(st.rate_limited, 0, "{st:?}");
    assert!(
        st.ok > 0 && st.ok < 150 * 4,
        "identical prompts are answered once: {st:?}"
    );

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
}
