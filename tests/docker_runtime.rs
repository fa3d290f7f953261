//! The docker runtime end to end against a real Docker engine, through the binary as a user runs
//! it: `cluster start --runtime docker` (3 nodes, one volume each, ports on 127.0.0.1 only, the
//! handlers reached through host-gateway), `status` right after start agreeing with it, `logs`,
//! `all-in-one` on 600 indicators with a node container killed mid-run and every indicator
//! stored exactly once, stop/start keeping the data, `clean` leaving nothing; and a first start
//! that fails (an image that cannot be pulled) leaving nothing a plain `cluster clean` cannot
//! remove.
//!
//! The images are the ones `RESTATE_CLASSIFY_{RESTATE,OBJECT_STORE,POSTGRES}_IMAGE` name (the
//! local images `scripts/build-images.sh` builds; `make test` exports them), else the pinned
//! upstream ones. Where no engine answers, the test says `SKIPPED` with the reason and returns:
//! `make test` starts one with `scripts/docker-engine.sh`, so CI runs it.

mod support;

use restate_classify::cluster::container_spec::LABEL_CLUSTER;
use restate_classify::cluster::docker::engine::{Engine, EngineError, engine_address};
use restate_classify::cluster::spec::Runtime;
use std::io::Write;
use std::process::Stdio;
use support::TestCluster;
use support::runs::{Db, exactly_once, run_with_at_least};

const COUNT: i64 = 600;

/// Written to the stderr handle directly: the harness captures the output of passing tests,
/// and a skip must be visible.
fn tell(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The engine, or `None` after saying why the test cannot run.
async fn engine() -> Option<Engine> {
    match Engine::connect().await {
        Ok(e) => Some(e),
        Err(e) => {
            let (host, _) = engine_address();
            let why = match e {
                EngineError::NoEngine { detail, .. } => detail,
                other => other.to_string(),
            };
            tell(&format!(
                "SKIPPED: no Docker engine at {host} ({why}); start one with `scripts/docker-engine.sh start` (as root)"
            ));
            None
        }
    }
}

/// The images this test runs must be on the engine already (no registry is assumed).
async fn require_images(engine: &Engine, cluster: &TestCluster) {
    let images = cluster.spec().images;
    for (flag, image) in images.named() {
        let present = engine.has_image(image).await.expect("inspect image");
        assert!(
            present,
            "image {image} ({flag}) is not on the engine: build the local images with \
             `scripts/build-images.sh` and export what `scripts/build-images.sh --print-env` prints"
        );
    }
}

/// A docker test cluster; container names carry the cluster name, so each test (and each test
/// process on one engine) gets its own.
fn docker_cluster(test: &str) -> TestCluster {
    let mut cluster = TestCluster::on(3, Runtime::Docker);
    cluster.name = format!("dk{}-{test}", std::process::id());
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_cluster_classifies_survives_a_killed_node_and_cleans_up() {
    let Some(engine) = engine().await else { return };
    let _guard = support::cluster_lock().await;
    let cluster = docker_cluster("e2e");
    require_images(&engine, &cluster).await;
    let name = cluster.name.clone();

    let out = cluster.ok(&["cluster", "start"]);
    assert!(
        out.stderr
            .contains("ready: an invocation succeeded through each of the 3 nodes"),
        "{}",
        out.stderr
    );

    // Straight after start, status agrees: every component ready, every partition led.
    let (code, status) = cluster.status();
    assert_eq!(code, 0, "{status:#}");
    assert_eq!(status["runtime"], "docker");
    assert_eq!(status["partitions"], serde_json::json!([24, 24]));

    // Five containers, one volume each, one network, all labelled as this cluster's; every
    // published port on 127.0.0.1 only; nodes reach the handlers through host-gateway.
    let containers = engine.containers(&name).await.expect("list");
    assert_eq!(containers.len(), 5);
    assert_eq!(engine.volumes(&name).await.expect("list").len(), 5);
    assert_eq!(engine.networks(&name).await.expect("list").len(), 1);
    for c in &containers {
        assert_eq!(c.labels.clone().unwrap_or_default()[LABEL_CLUSTER], name);
        for p in c.ports.iter().flatten().filter(|p| p.public_port.is_some()) {
            assert_eq!(
                p.ip.as_deref(),
                Some("127.0.0.1"),
                "{:?} publishes {p:?}",
                c.names
            );
        }
        let cname = c.names.clone().unwrap_or_default()[0]
            .trim_start_matches('/')
            .to_string();
        let inspected = engine
            .inspect_container(&cname)
            .await
            .expect("inspect")
            .expect("exists");
        let hosts = inspected
            .host_config
            .and_then(|h| h.extra_hosts)
            .unwrap_or_default();
        if cname.contains("-restate-") {
            assert!(
                hosts
                    .iter()
                    .any(|h| h == "host.docker.internal:host-gateway"),
                "{cname}: {hosts:?}"
            );
        }
    }

    let logs = cluster.ok(&["cluster", "logs", "restate-2", "-n", "5"]);
    assert!(!logs.stdout.trim().is_empty(), "no log lines for restate-2");
    let logs = cluster.ok(&["cluster", "logs", "postgres", "-n", "5"]);
    assert!(!logs.stdout.trim().is_empty(), "no log lines for postgres");

    // all-in-one through the containers; one node container is killed mid-run.
    cluster.ok(&["db", "seed", "--count", &COUNT.to_string()]);
    let db = Db::new(&cluster);
    let summary_file = cluster.dir.path().join("all-in-one.json");
    let mut child = cluster
        .command(&["all-in-one", "--window", "60", "--json"])
        .stdout(std::fs::File::create(&summary_file).unwrap())
        .stderr(std::fs::File::create(cluster.dir.path().join("all-in-one.err")).unwrap())
        .spawn()
        .unwrap();
    let run = run_with_at_least(&db, &[], 60).await;
    let out = cluster.ok(&["cluster", "kill", "restate-2"]);
    assert!(
        out.stderr.contains("killed restate-2 (container"),
        "{}",
        out.stderr
    );
    let done_at_kill = db.done(&run).await.unwrap();
    let status = child.wait().unwrap();
    let err = std::fs::read_to_string(cluster.dir.path().join("all-in-one.err")).unwrap();
    assert!(status.success(), "all-in-one exited with {status}:\n{err}");
    assert!(
        done_at_kill < COUNT,
        "the kill must land mid-run ({done_at_kill} done)"
    );
    let summary = support::summary(&support::CliOutput {
        code: 0,
        stdout: std::fs::read_to_string(&summary_file).unwrap(),
        stderr: err,
    });
    assert_eq!(summary["classified"], COUNT, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    exactly_once(&cluster, &db, &run, COUNT).await;

    // `cluster start` brings the killed node back; the cluster is ready again.
    cluster.ok(&["cluster", "start"]);
    let (code, status) = cluster.status();
    assert_eq!(code, 0, "status right after start: {status:#}");

    // Stop keeps containers and volumes; a start resumes with the data.
    cluster.ok(&["cluster", "stop"]);
    let (code, stopped) = cluster.status();
    assert_ne!(code, 0);
    assert!(
        stopped["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["alive"] == false),
        "{stopped:#}"
    );
    assert_eq!(engine.volumes(&name).await.expect("list").len(), 5);
    cluster.ok(&["cluster", "start"]);
    let (code, status) = cluster.status();
    assert_eq!(code, 0, "status right after a restart: {status:#}");
    exactly_once(&cluster, &db, &run, COUNT).await;

    // Clean removes every container, volume and the network, and the state dir.
    cluster.ok(&["cluster", "clean"]);
    assert!(engine.containers(&name).await.expect("list").is_empty());
    assert!(engine.volumes(&name).await.expect("list").is_empty());
    assert!(engine.networks(&name).await.expect("list").is_empty());
    assert!(!cluster.state_dir().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_start_leaves_nothing_a_plain_clean_cannot_remove() {
    let Some(engine) = engine().await else { return };
    let cluster = docker_cluster("failed");
    let name = cluster.name.clone();
    // An image no engine has and none can pull here: the start fails before any container.
    let out = cluster.cli(&[
        "cluster",
        "start",
        "--restate-image",
        "restate-classify.invalid/no-such-image:0",
    ]);
    assert_ne!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("restate-classify.invalid/no-such-image:0"),
        "the error names the image: {}",
        out.stderr
    );
    assert!(engine.containers(&name).await.expect("list").is_empty());

    // A plain clean (no --runtime) finds what the failed start left, whatever it was.
    let mut plain = std::process::Command::new(support::bin());
    plain
        .args(["cluster", "clean", "--name", &name, "--state-dir"])
        .arg(cluster.state_dir())
        .env("RESTATE_CLASSIFY_TOOLS_DIR", "/nonexistent-tools")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = plain.output().unwrap();
    assert!(
        out.status.success(),
        "plain clean: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(engine.networks(&name).await.expect("list").is_empty());
    assert!(engine.volumes(&name).await.expect("list").is_empty());
    assert!(!cluster.state_dir().exists());
}

/// `docker-compose -p P -f FILE --env-file ENV ARGS…`, with output.
fn compose(project: &str, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("docker-compose")
        .args(["-p", project, "-f"])
        .arg(dir.join("compose.yml"))
        .arg("--env-file")
        .arg(dir.join("compose.env"))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("docker-compose cannot run ({e}): `scripts/docker-engine.sh start` installs it")
        })
}

/// Takes a compose project down with its volumes, whatever the test did.
struct ComposeDown<'a>(&'a str, &'a std::path::Path);

impl Drop for ComposeDown<'_> {
    fn drop(&mut self) {
        let out = compose(self.0, self.1, &["down", "-v", "--remove-orphans"]);
        if !out.status.success() {
            tell(&format!(
                "  cleanup: docker-compose down failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_compose_file_runs_in_docker_compose_v1() {
    let Some(_engine) = engine().await else {
        return;
    };
    let _guard = support::cluster_lock().await;
    let cluster = docker_cluster("compose");
    let project = cluster.name.clone();
    let dir = cluster.dir.path().to_path_buf();
    // The file for this cluster's ports, and its .env with freshly generated credentials.
    let out = cluster.ok(&[
        "compose",
        "--env-file",
        &dir.join("compose.env").display().to_string(),
    ]);
    std::fs::write(dir.join("compose.yml"), &out.stdout).unwrap();

    // Debian 12's docker-compose (v1) accepts it: no top-level `name:`.
    let config = compose(&project, &dir, &["config", "-q"]);
    assert!(
        config.status.success(),
        "docker-compose config: {}",
        String::from_utf8_lossy(&config.stderr)
    );

    // Up with the local images (the image variables of the file), and a cluster forms: every
    // node healthy, the bucket created, every partition led.
    let _down = ComposeDown(&project, &dir);
    let up = compose(&project, &dir, &["up", "-d"]);
    assert!(
        up.status.success(),
        "docker-compose up: {}",
        String::from_utf8_lossy(&up.stderr)
    );
    let spec = cluster.spec();
    let addresses: Vec<String> = spec
        .nodes
        .iter()
        .map(|n| format!("http://{}:{}", n.name, n.node_port))
        .collect();
    let led = support::eventually(
        "every partition led in the compose cluster",
        std::time::Duration::from_secs(240),
        || async {
            let id = compose(&project, &dir, &["ps", "-q", "restate-1"]);
            let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
            if id.is_empty() {
                return Err("restate-1 has no container yet".to_string());
            }
            let out = std::process::Command::new("docker")
                .args(["exec", &id, "restatectl", "--address", &addresses.join(",")])
                .args([
                    "sql",
                    "--jsonl",
                    "SELECT count(DISTINCT partition_id) AS n FROM partition_state \
                     WHERE effective_mode = 'Leader' AND replay_status = 'active'",
                ])
                .output()
                .map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&out.stdout);
            let n = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find_map(|v| v["n"].as_u64())
                .unwrap_or(0);
            if n == u64::from(spec.partitions) {
                Ok(n)
            } else {
                Err(format!(
                    "{n}/{} led; {}",
                    spec.partitions,
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        },
    )
    .await;
    assert_eq!(led, u64::from(spec.partitions));
    let ps = compose(&project, &dir, &["ps"]);
    let table = String::from_utf8_lossy(&ps.stdout);
    for service in ["restate-1", "restate-2", "restate-3", "minio", "postgres"] {
        assert!(
            table
                .lines()
                .any(|l| l.contains(&format!("_{service}_")) && l.contains("(healthy)")),
            "{service} is not healthy:\n{table}"
        );
    }
    assert!(
        table
            .lines()
            .any(|l| l.contains("_minio-init_") && l.contains("Exit 0")),
        "minio-init did not create the bucket:\n{table}"
    );
}
