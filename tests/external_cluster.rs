//! An external Restate cluster — nothing of it started by restate-classify: the test starts a
//! plain single-node `restate-server` with its own command line, and an external PostgreSQL;
//! `classify --ingress … --admin … --handler-url … --database-url …` registers its handlers
//! there, classifies every indicator and stores them, and a second run finds nothing to do.

mod support;

use restate_classify::cluster::native::process::{self, Launch};
use std::time::Duration;
use support::{TestPostgres, eventually, free_port};

/// A plain restate-server on free ports in a temp dir, killed on drop.
struct PlainRestate {
    _dir: tempfile::TempDir,
    pid: u32,
    ingress: u16,
    admin: u16,
}

impl PlainRestate {
    fn start() -> Self {
        let tools = support::tools();
        let dir = tempfile::Builder::new()
            .prefix("rc-plain-restate-")
            .tempdir()
            .expect("temp dir");
        let (ingress, admin, node) = (free_port(), free_port(), free_port());
        let bind = |p: u16| format!("127.0.0.1:{p}");
        let pid = process::spawn_detached(&Launch {
            program: tools.restate_server.clone(),
            args: vec![
                "--base-dir".into(),
                dir.path().join("data").display().to_string(),
                "--node-name".into(),
                "plain".into(),
                "--no-logo".into(),
            ],
            env: vec![
                ("RESTATE_LISTEN_MODE".into(), "tcp".into()),
                ("RESTATE_BIND_ADDRESS".into(), bind(node)),
                (
                    "RESTATE_ADVERTISED_ADDRESS".into(),
                    format!("http://127.0.0.1:{node}"),
                ),
                ("RESTATE_ADMIN__BIND_ADDRESS".into(), bind(admin)),
                ("RESTATE_INGRESS__BIND_ADDRESS".into(), bind(ingress)),
                ("RESTATE_DISABLE_TELEMETRY".into(), "true".into()),
                ("RESTATE_DEFAULT_NUM_PARTITIONS".into(), "4".into()),
            ],
            cwd: None,
            log: dir.path().join("restate.log"),
            run_as: None,
        })
        .expect("start restate-server");
        Self {
            _dir: dir,
            pid,
            ingress,
            admin,
        }
    }
}

impl Drop for PlainRestate {
    fn drop(&mut self) {
        let _ = process::kill_group(self.pid, "restate-server");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_runs_on_a_cluster_it_did_not_start() {
    let _guard = support::cluster_lock().await;
    let pg = TestPostgres::start().await;
    let restate = PlainRestate::start();
    let admin = format!("http://127.0.0.1:{}", restate.admin);
    let ingress = format!("http://127.0.0.1:{}", restate.ingress);
    let http = reqwest::Client::new();
    eventually(
        "the plain restate-server to answer",
        Duration::from_secs(60),
        || async {
            match http.get(format!("{admin}/health")).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("HTTP {}", r.status())),
                Err(e) => Err(e.to_string()),
            }
        },
    )
    .await;
    let handler_port = free_port();
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(support::bin())
            .args(args)
            .args(["--database-url", &pg.url(), "--state-dir"])
            .arg(state.path().join("none"))
            .output()
            .expect("run restate-classify")
    };
    let seeded = run(&["db", "seed", "--count", "60"]);
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let classify = [
        "classify",
        "--ingress",
        &ingress,
        "--admin",
        &admin,
        "--handler-url",
        &format!("http://127.0.0.1:{handler_port}"),
        "--json",
    ];
    let out = eventually(
        "classify against the external cluster",
        Duration::from_secs(240),
        || async {
            // The plain node can take a few seconds after /health before it runs invocations.
            let out = run(&classify);
            if out.status.success() {
                Ok(out)
            } else {
                Err(String::from_utf8_lossy(&out.stderr).into_owned())
            }
        },
    )
    .await;
    let summary = support::summary(&support::CliOutput {
        code: 0,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    });
    assert_eq!(summary["total"], 60, "{summary}");
    assert_eq!(summary["classified"], 60, "{summary}");
    let client = pg.client().await;
    let stored: i64 = client
        .query_one(
            "SELECT count(*) FROM classifications WHERE run_id = $1 AND status = 'classified'",
            &[&summary["run_id"].as_str().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 60);
    // The external cluster lists our deployment: the handlers were registered there.
    let deployments: serde_json::Value = http
        .get(format!("{admin}/deployments"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        deployments
            .to_string()
            .contains(&format!("127.0.0.1:{handler_port}")),
        "{deployments}"
    );
    let again = run(&classify);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("\"total\":0"));
}
