//! The docker backend and the lifecycle's engine-side steps against [`FakeEngine`]: real
//! bollard calls, an in-memory engine. Readiness needs real services and is covered by
//! `tests/docker_runtime.rs` against a real engine.

mod fake_engine;

use super::*;
use crate::cluster::Cluster;
use crate::cluster::container_spec::{LABEL_CLUSTER, LABEL_CONFIG_HASH};
use crate::cluster::spec::SpecOptions;
use crate::cluster::spec::{MINIO_IMAGE, POSTGRES_IMAGE, RESTATE_IMAGE};
use crate::cluster::state::ClusterState;
use crate::cluster::status::StartReport;
use engine::EngineError;
use fake_engine::{FakeContainer, FakeEngine};

struct Fixture {
    fake: FakeEngine,
    cluster: Cluster,
    _dir: tempfile::TempDir,
}

/// A cluster on the docker backend over `engine`, the handler bind resolved as `open` does.
async fn docker_cluster(mut spec: ClusterSpec, engine: Engine) -> Cluster {
    if spec.handler_bind.is_none() {
        spec.handler_bind = engine.handler_bind().await;
    }
    let creds = Credentials::generate();
    let backend = DockerBackend::new(spec.clone(), creds.clone(), engine);
    Cluster::from_parts(spec, creds, Box::new(backend))
}

/// Two nodes: with offsets below 3600 every port stays under 32768, outside the ephemeral
/// range where outgoing connections could take a port between our check and its use.
const NODES: u32 = 2;

/// A port offset near `hint` at which every port of the spec is free on this machine.
fn free_offset(hint: u32) -> u32 {
    (0..100)
        .map(|i| hint + i * 7)
        .find(|&offset| {
            ClusterSpec::new(&SpecOptions {
                nodes: NODES,
                port_offset: offset,
                runtime: Runtime::Docker,
                ..SpecOptions::default()
            })
            .expect("spec")
            .all_ports()
            .iter()
            .all(|(p, _)| crate::host::port_is_free(*p))
        })
        .expect("a free port offset")
}

async fn fixture(offset_hint: u32) -> Fixture {
    let fake = FakeEngine::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = ClusterSpec::new(&SpecOptions {
        name: "t".into(),
        state_dir: Some(dir.path().join("t")),
        nodes: NODES,
        port_offset: free_offset(offset_hint),
        runtime: Runtime::Docker,
        ..SpecOptions::default()
    })
    .expect("spec");
    let engine = Engine::connect_to(&fake.host, "")
        .await
        .expect("fake engine");
    let cluster = docker_cluster(spec, engine).await;
    Fixture {
        fake,
        cluster,
        _dir: dir,
    }
}

/// What `start` does before it waits for anything: preflight, state dir, provision, then
/// every container that does not run, in order.
async fn up(f: &Fixture, said: &mut Vec<String>) -> Result<StartReport, ClusterError> {
    let mut say = |l: &str| said.push(l.to_string());
    let backend = f.cluster.backend();
    let running = backend.running().await?;
    let mut report = StartReport::default();
    let mut to_start = Vec::new();
    for c in f.cluster.components() {
        match running.get(&c) {
            Some(r) if !r.stale => report.already_running.push(c.name()),
            _ => to_start.push(c),
        }
    }
    backend.preflight(&to_start, &mut say).await?;
    f.cluster.persist_for_test()?;
    backend.provision().await?;
    for c in to_start {
        backend.start(c, &mut say).await?;
        report.started.push(c.name());
    }
    Ok(report)
}

fn key_file(f: &Fixture) -> std::path::PathBuf {
    f.cluster
        .spec()
        .dirs()
        .config()
        .join("request-identity.pem")
}

fn count(f: &Fixture, request: &str) -> usize {
    f.fake
        .state()
        .requests
        .iter()
        .filter(|r| r.starts_with(request))
        .count()
}

fn foreign(labels: &[(&str, &str)], running: bool) -> FakeContainer {
    FakeContainer {
        id: format!("foreign-{}", labels.len()),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        running,
        ports: vec![],
        body: serde_json::Value::Null,
    }
}

#[tokio::test]
async fn handler_binds_on_the_engines_bridge_gateway() {
    let f = fixture(1200).await;
    assert_eq!(f.cluster.spec().handler_bind.as_deref(), Some("172.17.0.1"));
    assert_eq!(
        f.cluster.spec().handler_url(),
        format!(
            "http://host.docker.internal:{}",
            f.cluster.spec().handler_port
        )
    );
}

#[tokio::test]
async fn first_start_pulls_and_creates_everything_labelled() {
    let f = fixture(1400).await;
    let mut said = Vec::new();
    let report = up(&f, &mut said).await.expect("up");
    assert_eq!(
        report.started,
        ["object-store", "postgres", "restate-1", "restate-2"]
    );
    assert!(said.iter().any(|l| l == &format!("pulled {RESTATE_IMAGE}")));
    let s = f.fake.state();
    assert_eq!(
        s.images,
        [MINIO_IMAGE, POSTGRES_IMAGE, RESTATE_IMAGE]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_eq!(s.networks["restate-classify-t"][LABEL_CLUSTER], "t");
    assert_eq!(s.volumes.len(), 4, "one volume per component");
    for (name, labels) in &s.volumes {
        assert_eq!(labels[LABEL_CLUSTER], "t", "{name}");
        assert_eq!(&engine_name_of(labels), name);
    }
    assert_eq!(s.containers.len(), 4);
    for (name, c) in &s.containers {
        assert!(c.running, "{name}");
        assert_eq!(c.labels[LABEL_CLUSTER], "t");
        assert_eq!(
            c.body["HostConfig"]["NetworkMode"], "restate-classify-t",
            "{name}"
        );
    }
    assert!(key_file(&f).exists());
}

fn engine_name_of(labels: &std::collections::BTreeMap<String, String>) -> String {
    format!(
        "restate-classify-t-{}",
        container_spec::hostname(&labels[LABEL_COMPONENT])
    )
}

#[tokio::test]
async fn a_second_start_leaves_running_containers_alone() {
    let f = fixture(1600).await;
    up(&f, &mut Vec::new()).await.expect("up");
    let again = up(&f, &mut Vec::new()).await.expect("up again");
    assert!(again.started.is_empty());
    assert_eq!(again.already_running.len(), 4);
    assert_eq!(count(&f, "POST /containers/create"), 4);
    assert_eq!(
        count(&f, "POST /images/create"),
        3,
        "images are pulled once"
    );
}

#[tokio::test]
async fn stopped_containers_are_started_again_not_recreated() {
    let f = fixture(1800).await;
    up(&f, &mut Vec::new()).await.expect("up");
    let stopped = f.cluster.stop(&mut |_| {}).await.expect("stop");
    assert_eq!(stopped.len(), 4);
    assert!(f.fake.state().containers.values().all(|c| !c.running));
    let report = up(&f, &mut Vec::new()).await.expect("restart");
    assert_eq!(report.started.len(), 4);
    assert_eq!(count(&f, "POST /containers/create"), 4);
    assert_eq!(count(&f, "DELETE /containers"), 0);
}

#[tokio::test]
async fn a_changed_configuration_recreates_the_container_and_keeps_its_volume() {
    let f = fixture(2000).await;
    up(&f, &mut Vec::new()).await.expect("up");
    f.fake
        .state()
        .containers
        .get_mut("restate-classify-t-restate-2")
        .expect("node 2")
        .labels
        .insert(LABEL_CONFIG_HASH.into(), "an older configuration".into());
    let mut said = Vec::new();
    let report = up(&f, &mut said).await.expect("up");
    assert_eq!(report.started, ["restate-2"]);
    assert!(said.iter().any(|l| l.starts_with("recreating restate-2")));
    assert_eq!(count(&f, "DELETE /containers"), 1);
    assert_eq!(f.fake.state().volumes.len(), 4);
}

#[tokio::test]
async fn objects_with_our_names_but_not_our_label_are_refused() {
    let f = fixture(2200).await;
    f.fake
        .state()
        .networks
        .insert("restate-classify-t".into(), Default::default());
    let err = up(&f, &mut Vec::new()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClusterError::NameTaken {
                kind: "network",
                ..
            }
        ),
        "{err}"
    );
    f.fake.state().networks.clear();
    f.fake.state().containers.insert(
        "restate-classify-t-postgres".into(),
        foreign(&[("owner", "someone")], true),
    );
    let err = up(&f, &mut Vec::new()).await.unwrap_err();
    assert!(err.to_string().contains(
        "container restate-classify-t-postgres exists but was not created for cluster \"t\""
    ));
    assert!(f.fake.state().containers["restate-classify-t-postgres"].running);
}

#[tokio::test]
async fn stop_takes_nodes_down_first_and_touches_nothing_else() {
    let f = fixture(2400).await;
    up(&f, &mut Vec::new()).await.expect("up");
    f.fake.state().containers.insert(
        "someone-elses".into(),
        foreign(&[(LABEL_CLUSTER, "other")], true),
    );
    let stopped = f.cluster.stop(&mut |_| {}).await.expect("stop");
    assert_eq!(stopped.len(), 4);
    let s = f.fake.state();
    let stops: Vec<&String> = s.requests.iter().filter(|r| r.ends_with("/stop")).collect();
    assert!(
        stops[..2].iter().all(|r| r.contains("-restate-")),
        "{stops:?}"
    );
    assert!(s.containers["someone-elses"].running);
    assert_eq!(s.volumes.len(), 4, "stop keeps the data");
}

#[tokio::test]
async fn clean_removes_our_containers_volumes_network_and_state_dir_only() {
    let f = fixture(2600).await;
    up(&f, &mut Vec::new()).await.expect("up");
    {
        let mut s = f.fake.state();
        let other = [(LABEL_CLUSTER.to_string(), "other".to_string())];
        s.containers.insert(
            "someone-elses".into(),
            foreign(&[(LABEL_CLUSTER, "other")], true),
        );
        s.volumes.insert("other-data".into(), other.clone().into());
        s.networks.insert("other-net".into(), other.into());
    }
    let root = f.cluster.spec().state_dir.clone();
    assert!(root.exists());
    f.cluster.clean(&mut |_| {}).await.expect("clean");
    let s = f.fake.state();
    assert_eq!(s.containers.keys().collect::<Vec<_>>(), ["someone-elses"]);
    assert_eq!(s.volumes.keys().collect::<Vec<_>>(), ["other-data"]);
    assert_eq!(s.networks.keys().collect::<Vec<_>>(), ["other-net"]);
    assert!(!root.exists());
}

#[tokio::test]
async fn a_missing_image_is_named() {
    let f = fixture(2800).await;
    f.fake.state().pull_error = Some(format!(
        "manifest for {MINIO_IMAGE} not found: manifest unknown"
    ));
    let err = up(&f, &mut Vec::new()).await.unwrap_err();
    assert!(
        matches!(&err, ClusterError::Engine(EngineError::ImageNotFound { image, .. }) if image == MINIO_IMAGE),
        "{err}"
    );
    f.fake.state().pull_error = Some("dial tcp: lookup registry-1.docker.io: no such host".into());
    let err = up(&f, &mut Vec::new()).await.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("pulling image {MINIO_IMAGE} failed")),
        "{err}"
    );
}

#[tokio::test]
async fn a_port_the_engine_cannot_publish_is_named_with_its_component() {
    let f = fixture(3000).await;
    let port = f.cluster.spec().nodes[1].ingress_port;
    f.fake.state().port_allocated = Some(port);
    let err = up(&f, &mut Vec::new()).await.unwrap_err();
    match &err {
        ClusterError::PortTaken {
            port: p, component, ..
        } => {
            assert_eq!((*p, component.as_str()), (port, "restate-2 ingress"));
        }
        other => panic!("expected PortTaken, got {other}"),
    }
    assert!(err.to_string().contains("--port-offset"));
}

#[tokio::test]
async fn a_port_held_on_this_machine_is_refused_before_creating() {
    let f = fixture(3200).await;
    let port = f.cluster.spec().nodes[0].admin_port;
    let _holder = std::net::TcpListener::bind(("127.0.0.1", port)).expect("hold the port");
    let err = up(&f, &mut Vec::new()).await.unwrap_err();
    match err {
        ClusterError::PortTaken {
            port: p,
            component,
            owner,
        } => {
            assert_eq!(p, port);
            assert_eq!(component, "restate-1 admin");
            assert!(owner.contains(&std::process::id().to_string()), "{owner}");
        }
        other => panic!("expected PortTaken, got {other}"),
    }
    assert!(
        !f.fake
            .state()
            .containers
            .contains_key("restate-classify-t-restate-1")
    );
}

#[tokio::test]
async fn kill_and_logs_address_one_components_container() {
    let f = fixture(3400).await;
    up(&f, &mut Vec::new()).await.expect("up");
    let node2 = f.cluster.component("restate-2").expect("component");
    let killed = f.cluster.kill(node2).await.expect("kill");
    assert_eq!(
        killed.as_deref(),
        Some("container restate-classify-t-restate-2")
    );
    assert!(!f.fake.state().containers["restate-classify-t-restate-2"].running);
    assert_eq!(f.cluster.kill(node2).await.expect("kill again"), None);
    let logs = f.cluster.logs(Component::Postgres, 10).await.expect("logs");
    assert_eq!(logs, "log line of restate-classify-t-postgres");
    // A same-named container that is not ours is never read.
    let mut impostor = foreign(&[("owner", "someone")], true);
    impostor.id = "not-ours".into();
    f.fake
        .state()
        .containers
        .insert("restate-classify-t-minio".into(), impostor);
    assert!(matches!(
        f.cluster.logs(Component::ObjectStore, 10).await,
        Err(ClusterError::NotCreated { .. })
    ));
    assert!(matches!(
        f.cluster.component("restate-7"),
        Err(ClusterError::UnknownComponent(..))
    ));
}

#[tokio::test]
async fn status_of_a_stopped_cluster_has_the_native_shape() {
    let f = fixture(3600).await;
    up(&f, &mut Vec::new()).await.expect("up");
    f.cluster.stop(&mut |_| {}).await.expect("stop");
    let endpoint = crate::service::endpoint(None, &Default::default()).expect("endpoint");
    let status = f.cluster.status(endpoint).await.expect("status");
    assert!(!status.all_ready());
    let json = serde_json::to_value(&status).expect("json");
    assert_eq!(json["runtime"], "docker");
    let keys: Vec<&String> = json["nodes"][0].as_object().expect("node").keys().collect();
    assert_eq!(
        keys,
        [
            "admin", "alive", "detail", "ingress", "name", "pid", "ready"
        ]
    );
    assert_eq!(
        json["nodes"][0]["detail"],
        "container restate-classify-t-restate-1 not running"
    );
    assert_eq!(json["object_store"]["ready"], false);
}

#[tokio::test]
async fn an_unusable_handler_bind_address_points_to_the_flag() {
    // 192.0.2.1 (TEST-NET-1) is never an address of this machine.
    let spec = ClusterSpec::new(&SpecOptions {
        runtime: Runtime::Docker,
        handler_bind: Some("192.0.2.1".into()),
        port_offset: free_offset(500),
        ..SpecOptions::default()
    })
    .expect("spec");
    let endpoint = crate::service::endpoint(None, &Default::default()).expect("endpoint");
    let err = match crate::cluster::lifecycle::probe_server(spec.handler_addr(), endpoint).await {
        Err(e) => e,
        Ok(_) => panic!("bound a foreign address"),
    };
    assert!(
        matches!(err, ClusterError::HandlerBindUnavailable { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--handler-bind"));
}

#[tokio::test]
async fn a_failed_first_pull_does_not_pin_the_state_dir_to_docker() {
    let f = fixture(700).await;
    f.fake.state().pull_error = Some("no route to registry".into());
    assert!(up(&f, &mut Vec::new()).await.is_err());
    assert!(!f.cluster.spec().dirs().cluster_file().exists());
    f.fake.state().pull_error = None;
    up(&f, &mut Vec::new()).await.expect("up");
    let state = ClusterState::load(&f.cluster.spec().dirs().cluster_file())
        .expect("load")
        .expect("recorded");
    assert_eq!(state.runtime, Runtime::Docker);
}

#[tokio::test]
async fn clean_refuses_a_directory_that_was_not_a_state_dir() {
    let fake = FakeEngine::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("precious.txt"), b"keep me").expect("write");
    let spec = ClusterSpec::new(&SpecOptions {
        state_dir: Some(dir.path().to_path_buf()),
        runtime: Runtime::Docker,
        ..SpecOptions::default()
    })
    .expect("spec");
    let engine = Engine::connect_to(&fake.host, "").await.expect("fake");
    let cluster = docker_cluster(spec, engine).await;
    let err = cluster.clean(&mut |_| {}).await.unwrap_err();
    assert!(matches!(err, ClusterError::ForeignStateDir(_)), "{err}");
    assert!(dir.path().join("precious.txt").exists());
}
