//! A paid LLM call is recorded exactly once and never paid twice, through a real 3-node cluster
//! against llm-sim with 2 s of latency while the handler server (a separate `serve`) and a
//! Restate node are killed with calls in flight:
//!
//! - every request the simulator received carries our call id (`X-Client-Request-Id`) and has
//!   exactly one `llm_calls` row; every row with an outcome was received; the simulator's
//!   accepted count equals the rows of the requests it accepted — a call in flight when its
//!   process died stays on record as `sent`;
//! - no prompt was answered to us twice: a retried Restate attempt joined the call its aborted
//!   attempt had started, or found its stored answer (one `ok` per cache key).

mod support;

use restate_classify::sim::{self, Latency, SimConfig};
use std::collections::{HashMap, HashSet};
use std::process::Child;
use std::time::Duration;
use support::runs::{Db, wait_progress};
use support::{TestCluster, eventually};

const COUNT: i64 = 240;

fn spawn(cluster: &TestCluster, args: &[&str], name: &str, sim: &str) -> Child {
    let mut cmd = cluster.command(args);
    cmd.args([
        "--provider",
        "openai",
        "--llm-base-url",
        sim,
        "--model",
        "llm-sim",
        "--llm-when",
        "all",
        "--rpm",
        "1200",
    ])
    .stdout(std::fs::File::create(cluster.dir.path().join(format!("{name}.out"))).unwrap())
    .stderr(std::fs::File::create(cluster.dir.path().join(format!("{name}.err"))).unwrap());
    cmd.spawn().unwrap()
}

async fn serving(cluster: &TestCluster) {
    let port = cluster.spec().handler_port;
    eventually("serve to listen", Duration::from_secs(60), || async {
        if restate_classify::host::port_is_free(port) {
            Err("not yet".to_string())
        } else {
            Ok(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_flight_survive_killed_handlers_and_nodes_paid_and_recorded_once() {
    let _guard = support::cluster_lock().await;
    let sim = sim::start(SimConfig {
        port: 0,
        rpm: 1200,
        tpm: 10_000_000,
        latency: Latency {
            mean: Duration::from_millis(2000),
            jitter: Duration::from_millis(500),
        },
        seed: 11,
        ..SimConfig::default()
    })
    .await
    .expect("llm-sim");
    let base = sim.openai_base_url();
    let cluster = TestCluster::new(3);
    cluster.ok(&["cluster", "start"]);
    cluster.ok(&["db", "seed", "--count", &COUNT.to_string()]);
    let db = Db::new(&cluster);

    // The handler server runs apart, so it can be killed while its calls are in flight; classify
    // finds the handler port served and submits.
    let mut serve = spawn(&cluster, &["serve"], "serve-1", &base);
    serving(&cluster).await;
    let mut classify = spawn(
        &cluster,
        &["classify", "--force", "--window", "80", "--json"],
        "classify",
        &base,
    );
    let run = support::runs::run_with_at_least(&db, &[], 30).await;

    // kill -9 the handler server with calls in flight (2 s each), then start another.
    let in_flight = sim.stats().requests;
    serve.kill().unwrap();
    serve.wait().unwrap();
    let mut serve = spawn(&cluster, &["serve"], "serve-2", &base);
    serving(&cluster).await;
    let done = db.done(&run).await.unwrap();
    wait_progress(&db, &run, done + 40).await;

    // kill -9 a Restate node: the attempts it ran are aborted and retried elsewhere while their
    // calls are still in the air.
    cluster.ok(&["cluster", "kill", "restate-2"]);
    let done = db.done(&run).await.unwrap();
    wait_progress(&db, &run, done + 40).await;
    cluster.ok(&["cluster", "start"]);

    let status = classify.wait().unwrap();
    let err = std::fs::read_to_string(cluster.dir.path().join("classify.err")).unwrap();
    assert!(status.success(), "classify exited with {status}:\n{err}");
    let out = std::fs::read_to_string(cluster.dir.path().join("classify.out")).unwrap();
    let summary = support::summary(&support::CliOutput {
        code: 0,
        stdout: out,
        stderr: err,
    });
    assert_eq!(summary["classified"], COUNT, "{summary}");
    // The calls of the serve process are written when it flushes; stop it cleanly first.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    serve.wait().unwrap();
    assert!(in_flight > 0, "calls were in flight when serve was killed");

    let client = {
        let spec = cluster.spec();
        let creds = restate_classify::cluster::credentials::Credentials::load(
            &spec.dirs().credentials_file(),
        )
        .unwrap()
        .unwrap();
        let (c, conn) = tokio_postgres::connect(
            &restate_classify::cluster::pg_target(&spec, &creds).url(),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        c
    };
    let rows = client
        .query(
            "SELECT call_id, status, cache_key FROM llm_calls WHERE status <> 'cached'",
            &[],
        )
        .await
        .unwrap();
    let mut by_id: HashMap<String, String> = HashMap::new();
    let mut ok_per_key: HashMap<String, u32> = HashMap::new();
    for r in &rows {
        let id: Option<String> = r.get(0);
        let status: String = r.get(1);
        let id = id.unwrap_or_else(|| panic!("an upstream call without a call id ({status})"));
        assert!(
            by_id.insert(id.clone(), status.clone()).is_none(),
            "call {id} recorded twice"
        );
        if status == "ok" {
            let key: String = r.get(2);
            *ok_per_key.entry(key).or_default() += 1;
        }
    }
    let received = sim.request_ids();
    let received_set: HashSet<&String> = received.iter().collect();
    assert_eq!(
        received.len(),
        received_set.len(),
        "a call id was sent twice"
    );
    for id in &received {
        assert!(
            by_id.contains_key(id),
            "the simulator received call {id}, which is not on record"
        );
    }
    for (id, status) in &by_id {
        if status != "sent" {
            assert!(
                received_set.contains(id),
                "call {id} has an outcome ({status}) but the simulator never received it"
            );
        }
    }
    let lost: Vec<&String> = by_id
        .iter()
        .filter(|(id, s)| *s == "sent" && received_set.contains(id))
        .map(|(id, _)| id)
        .collect();
    assert!(
        !lost.is_empty(),
        "the kill left no call in flight on record as sent: {:?}",
        by_id.values().collect::<HashSet<_>>()
    );
    let accepted_rows = by_id
        .iter()
        .filter(|(id, s)| received_set.contains(id) && *s != "429")
        .count() as u64;
    assert_eq!(
        sim.stats().accepted,
        accepted_rows,
        "the simulator accepted exactly the calls on record"
    );
    let twice: Vec<_> = ok_per_key.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "prompts answered to us twice: {twice:?}");
}
