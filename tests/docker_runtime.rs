//! The docker runtime end to end against a real Docker engine: a 3-node cluster with MinIO and
//! TimescaleDB starts and becomes ready (every partition led, an invocation through every
//! ingress), stops keeping its volumes, and `clean` removes containers, volumes and network.
//!
//! Where no Docker engine answers (CI machines have none) the test prints a plain
//! `SKIPPED: no Docker engine at …` line and returns: it is not run, and says so.

use restate_classify::cluster::container_spec::LABEL_CLUSTER;
use restate_classify::cluster::docker::DockerCluster;
use restate_classify::cluster::docker_engine::{Engine, EngineError, engine_address};
use restate_classify::cluster::spec::{ClusterSpec, Runtime, SpecOptions};
use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

/// Written to the stderr handle directly: the test harness captures `println!`/`eprintln!` of
/// passing tests, and a skip must be visible.
fn tell(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A port offset at which every port of a docker cluster (and the handler port) is free.
fn free_offset(name: &str, state_dir: &std::path::Path) -> u32 {
    let seed = std::process::id() % 500;
    (0..200)
        .map(|i| 1000 + (seed + i * 37) % 20000)
        .find(|&offset| {
            let spec = ClusterSpec::new(&SpecOptions {
                name: name.into(),
                state_dir: Some(state_dir.into()),
                port_offset: offset,
                runtime: Runtime::Docker,
                ..SpecOptions::default()
            })
            .expect("spec");
            spec.all_ports()
                .iter()
                .all(|(p, _)| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        })
        .expect("some port offset with every port free")
}

/// Removes whatever the test created if it fails half-way.
struct CleanOnDrop(Option<ClusterSpec>);

impl Drop for CleanOnDrop {
    fn drop(&mut self) {
        let Some(spec) = self.0.take() else { return };
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async {
                if let Ok(c) = DockerCluster::open(spec).await {
                    let _ = c.clean(&mut |l| tell(&format!("  cleanup: {l}"))).await;
                }
            });
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_start_ready_stop_and_clean() {
    let engine = match Engine::connect().await {
        Ok(e) => e,
        Err(e) => {
            let (host, _) = engine_address();
            let why = match e {
                EngineError::NoEngine { detail, .. } => detail,
                other => other.to_string(),
            };
            tell(&format!(
                "SKIPPED: no Docker engine at {host} ({why}); the docker runtime end-to-end test did not run"
            ));
            return;
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let name = format!("e2e-{}", std::process::id());
    let state_dir = dir.path().join(&name);
    let offset = free_offset(&name, &state_dir);
    let spec = ClusterSpec::new(&SpecOptions {
        name: name.clone(),
        state_dir: Some(state_dir.clone()),
        nodes: 3,
        port_offset: offset,
        runtime: Runtime::Docker,
        ..SpecOptions::default()
    })
    .expect("spec");
    let mut guard = CleanOnDrop(Some(spec.clone()));
    let cluster = DockerCluster::open(spec).await.expect("open");
    let endpoint = restate_classify::service::endpoint(
        Some(&cluster.creds.request_identity_public_key),
        &Default::default(),
    )
    .expect("endpoint");
    let mut say = |l: &str| tell(&format!("  {l}"));

    let report = cluster
        .start(endpoint.clone(), Duration::from_secs(600), &mut say)
        .await
        .expect("cluster start");
    assert_eq!(report.started.len(), 5, "{report:?}");

    let status = cluster.status(endpoint.clone()).await.expect("status");
    assert_eq!(status.runtime, Runtime::Docker);
    assert!(status.all_ready(), "{status:#?}");
    assert_eq!(status.partitions, Some((24, 24)));
    let json = serde_json::to_value(&status).expect("json");
    assert_eq!(json["runtime"], "docker");

    // Everything carries our label; one volume per component, one network.
    assert_eq!(engine.containers(&name).await.expect("list").len(), 5);
    assert_eq!(engine.volumes(&name).await.expect("list").len(), 5);
    assert_eq!(engine.networks(&name).await.expect("list").len(), 1);
    for c in engine.containers(&name).await.expect("list") {
        assert_eq!(c.labels.unwrap_or_default()[LABEL_CLUSTER], name);
    }

    // A second start finds everything running and ready.
    let again = cluster
        .start(endpoint.clone(), Duration::from_secs(300), &mut say)
        .await
        .expect("idempotent start");
    assert!(again.started.is_empty(), "{again:?}");

    let stopped = cluster.stop(&mut say).await.expect("stop");
    assert_eq!(stopped.len(), 5, "{stopped:?}");
    let status = cluster.status(endpoint).await.expect("status after stop");
    assert!(status.nodes.iter().all(|n| !n.alive), "{status:#?}");
    assert_eq!(
        engine.volumes(&name).await.expect("list").len(),
        5,
        "stop keeps the volumes"
    );

    cluster.clean(&mut say).await.expect("clean");
    assert!(engine.containers(&name).await.expect("list").is_empty());
    assert!(engine.volumes(&name).await.expect("list").is_empty());
    assert!(engine.networks(&name).await.expect("list").is_empty());
    assert!(!state_dir.exists());
    guard.0 = None;
}
