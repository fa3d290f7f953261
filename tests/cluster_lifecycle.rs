//! The native cluster end to end through the real binary: real restate-server ×3, SeaweedFS and
//! PostgreSQL. Start, status/readiness, idempotent start, kill -9 of one node while the other two
//! keep serving invocations, restart, stop/start with data kept, clean.

mod support;

use restate_classify::cluster::credentials::Credentials;
use restate_classify::restate::ingress::IngressClient;
use std::time::Duration;
use support::{TestCluster, eventually};

/// Serves our handler endpoint on the cluster's handler port from this test process.
async fn serve_handlers(cluster: &TestCluster) -> tokio::sync::oneshot::Sender<()> {
    let spec = cluster.spec();
    let creds = Credentials::load(&spec.dirs().credentials_file())
        .unwrap()
        .unwrap();
    let endpoint = restate_classify::service::endpoint(
        Some(&creds.request_identity_public_key),
        &Default::default(),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{}", spec.handler_port).parse().unwrap();
    let listener = restate_classify::restate::serve::bind(addr).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(restate_classify::restate::serve::serve(
        endpoint, listener, rx,
    ));
    tx
}

async fn ping(ingress: &IngressClient) -> Result<(), String> {
    restate_classify::cluster::health::probe_invocation(ingress, Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_node_cluster_lifecycle_survives_a_killed_node() {
    let _guard = support::cluster_lock().await;
    let cluster = TestCluster::new(3);
    let spec = cluster.spec();

    // Start: returns only when ready.
    let out = cluster.start();
    assert!(
        out.stderr
            .contains("ready: an invocation succeeded through each of the 3 nodes"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains(&format!(
        "ingress http://127.0.0.1:{}",
        spec.nodes[1].ingress_port
    )));
    assert!(out.stdout.contains("state persists in"));

    // Status JSON shape, all ready, passwords omitted.
    let (code, status) = cluster.status();
    assert_eq!(code, 0, "{status}");
    assert_eq!(status["runtime"], "native");
    let nodes = status["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    for (n, s) in nodes.iter().zip(&spec.nodes) {
        assert_eq!(n["name"], s.name.as_str());
        assert_eq!(n["ingress"], format!("http://127.0.0.1:{}", s.ingress_port));
        assert_eq!(n["admin"], format!("http://127.0.0.1:{}", s.admin_port));
        assert_eq!(n["ready"], true, "{n}");
    }
    assert_eq!(
        status["object_store"]["endpoint"],
        format!("http://127.0.0.1:{}", spec.object_store.s3_port)
    );
    assert_eq!(status["object_store"]["ready"], true);
    assert_eq!(status["database"]["ready"], true);
    let creds = Credentials::load(&spec.dirs().credentials_file())
        .unwrap()
        .unwrap();
    assert!(!status.to_string().contains(&creds.postgres_password));
    assert!(!status.to_string().contains(&creds.s3_secret_key));

    // Every service listens, and on 127.0.0.1 only.
    let ours: std::collections::HashMap<u16, String> = spec.all_ports().into_iter().collect();
    let mut listening = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.get(3) != Some(&"0A") {
                continue;
            }
            let (ip, port) = cols[1].rsplit_once(':').unwrap();
            let port = u16::from_str_radix(port, 16).unwrap();
            if let Some(what) = ours.get(&port) {
                assert_eq!(
                    ip, "0100007F",
                    "{what} (port {port}) listens on {ip} in {table}, not 127.0.0.1"
                );
                listening.insert(port);
            }
        }
    }
    for (port, what) in spec
        .all_ports()
        .into_iter()
        .filter(|(_, w)| w != "handler server")
    {
        assert!(
            listening.contains(&port),
            "{what} ({port}) is not listening"
        );
    }

    // Idempotent: a second start finds everything up.
    let again = cluster.start();
    assert!(
        again.stderr.contains("everything was already up"),
        "{}",
        again.stderr
    );

    // A row written now must survive stop/start.
    let pg = restate_classify::cluster::pg_target(&spec, &creds);
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE TABLE lifecycle_probe (v text); INSERT INTO lifecycle_probe VALUES ('kept')",
        )
        .await
        .unwrap();
    drop(client);

    // kill -9 restate-2: the other two keep serving real invocations.
    let stop_handlers = serve_handlers(&cluster).await;
    // Only requests signed by this cluster's nodes reach the handlers: an unsigned call is 401.
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let unsigned = h2
        .post(format!(
            "http://127.0.0.1:{}/invoke/readiness/ping",
            spec.handler_port
        ))
        .header("content-type", "application/vnd.restate.invocation.v5")
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(
        unsigned.status().as_u16(),
        401,
        "unsigned request must be refused"
    );
    let victim = cluster.pid("restate-2").expect("restate-2 pid");
    cluster.ok(&["cluster", "kill", "restate-2"]);
    assert!(!restate_classify::host::is_alive(victim, "restate-server"));
    let http = reqwest::Client::new();
    for i in [0usize, 2] {
        let ingress = IngressClient::new(
            http.clone(),
            format!("http://127.0.0.1:{}", spec.nodes[i].ingress_port),
        );
        // Leadership of restate-2's partitions moves to the survivors; wait for it, then prove
        // several invocations (spread over partitions) go through.
        eventually(
            &format!("invocations through {}", spec.nodes[i].name),
            Duration::from_secs(90),
            || ping(&ingress),
        )
        .await;
        for _ in 0..10 {
            ping(&ingress).await.unwrap();
        }
    }
    let (code, status) = cluster.status();
    assert_ne!(code, 0, "status must fail while a node is down");
    assert_eq!(status["nodes"][1]["alive"], false);
    assert_eq!(status["nodes"][1]["ready"], false);
    let _ = stop_handlers.send(());

    // `start` restarts just the dead node; the cluster is ready again.
    let restarted = cluster.start();
    assert!(
        restarted.stderr.contains("started restate-2"),
        "{}",
        restarted.stderr
    );
    assert!(
        !restarted.stderr.contains("started restate-1"),
        "{}",
        restarted.stderr
    );
    let (code, status) = cluster.status();
    assert_eq!(code, 0, "{status}");

    // Stop keeps data; start brings the same cluster back.
    let pids: Vec<u32> = [
        "restate-1",
        "restate-2",
        "restate-3",
        "object-store",
        "postgres",
    ]
    .iter()
    .map(|c| cluster.pid(c).unwrap())
    .collect();
    cluster.ok(&["cluster", "stop"]);
    for pid in &pids {
        assert!(
            !restate_classify::host::is_alive(*pid, ""),
            "pid {pid} still running after stop"
        );
    }
    let (code, _) = cluster.status();
    assert_ne!(code, 0);
    cluster.start();
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let v: String = client
        .query_one("SELECT v FROM lifecycle_probe", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, "kept");
    drop(client);
    // The cluster kept its identity: same credentials, partitions provisioned once.
    let creds_after = Credentials::load(&spec.dirs().credentials_file())
        .unwrap()
        .unwrap();
    assert_eq!(creds_after, creds);

    // Logs are readable per component.
    let logs = cluster.ok(&["cluster", "logs", "restate-1", "-n", "5"]);
    assert!(!logs.stdout.trim().is_empty());
    assert!(!logs.stdout.contains(&creds.s3_secret_key));

    // Clean removes everything together.
    let pids: Vec<u32> = [
        "restate-1",
        "restate-2",
        "restate-3",
        "object-store",
        "postgres",
    ]
    .iter()
    .map(|c| cluster.pid(c).unwrap())
    .collect();
    cluster.ok(&["cluster", "clean"]);
    assert!(!cluster.state_dir().exists());
    for pid in pids {
        assert!(
            !restate_classify::host::is_alive(pid, ""),
            "pid {pid} survived clean"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_named_with_its_owner() {
    let _guard = support::cluster_lock().await;
    let cluster = TestCluster::new(3);
    let spec = cluster.spec();
    let blocker = std::net::TcpListener::bind(("127.0.0.1", spec.nodes[1].admin_port)).unwrap();
    let out = cluster.cli(&["cluster", "start", "--timeout", "60"]);
    assert_ne!(out.code, 0);
    let msg = out.stderr;
    assert!(
        msg.contains(&format!("port {}", spec.nodes[1].admin_port)),
        "{msg}"
    );
    assert!(msg.contains("restate-2 admin"), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    assert!(msg.contains("--port-offset"), "{msg}");
    drop(blocker);
}

#[test]
fn bad_node_count_is_rejected_before_anything_starts() {
    let cluster = TestCluster::new(3);
    let out = std::process::Command::new(support::bin())
        .args(["cluster", "start", "--nodes", "9", "--state-dir"])
        .arg(cluster.state_dir())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--nodes 9"), "{err}");
    assert!(
        !cluster.state_dir().exists(),
        "nothing may be created for invalid input"
    );
}

#[test]
fn a_foreign_directory_is_never_used_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "user data").unwrap();
    for args in [["cluster", "clean"], ["cluster", "start"]] {
        let out = std::process::Command::new(support::bin())
            .args(args)
            .arg("--state-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a restate-classify state dir"), "{err}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("precious.txt")).unwrap(),
        "user data"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing may be written there"
    );
}
