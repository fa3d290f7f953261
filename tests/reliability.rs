//! Faults during real runs on a real 3-node cluster: a Restate node, the handler server, the
//! database and the object store each die mid-run (kill -9) and come back; Ctrl-C stops a run
//! that a rerun resumes. Every run must end with every indicator classified exactly once: one
//! stored row and one workflow per indicator.

mod support;

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;
use support::runs::{Db, exactly_once, run_with_at_least, wait_progress};
use support::{TestCluster, eventually};

const COUNT: i64 = 600;

/// A `classify` (or `serve`) child process of the binary under test, on the test cluster.
fn spawn(cluster: &TestCluster, args: &[&str], stdout: Option<&PathBuf>) -> Child {
    let mut cmd = cluster.command(args);
    cmd.stderr(std::fs::File::create(cluster.dir.path().join(format!("{}.err", args[0]))).unwrap());
    match stdout {
        Some(path) => cmd.stdout(std::fs::File::create(path).unwrap()),
        None => cmd.stdout(Stdio::null()),
    };
    cmd.spawn().unwrap()
}

fn finish(child: &mut Child, what: &str) {
    let status = child.wait().unwrap();
    assert!(status.success(), "{what}: classify exited with {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_survive_killed_components_and_ctrl_c() {
    let _guard = support::cluster_lock().await;
    let cluster = TestCluster::new(3);
    cluster.ok(&["cluster", "start"]);
    cluster.ok(&["db", "seed", "--count", &COUNT.to_string()]);
    let db = Db::new(&cluster);
    let mut runs: Vec<String> = Vec::new();
    let out = cluster.dir.path().join("classify.out");

    // 1. kill -9 a Restate node mid-run; the run carries on through the other two; the node is
    //    restarted and rejoins.
    let mut child = spawn(&cluster, &["classify", "--force", "--window", "100"], None);
    let run = run_with_at_least(&db, &runs, 100).await;
    cluster.ok(&["cluster", "kill", "restate-2"]);
    let at_kill = db.done(&run).await.unwrap();
    wait_progress(&db, &run, at_kill + 150).await;
    let restarted = cluster.ok(&["cluster", "start"]);
    assert!(
        restarted.stderr.contains("started restate-2"),
        "{}",
        restarted.stderr
    );
    finish(&mut child, "node kill");
    exactly_once(&cluster, &db, &run, COUNT).await;
    let (code, status) = cluster.status();
    assert_eq!(code, 0, "restate-2 rejoined: {status}");
    runs.push(run);

    // 2. kill -9 the handler server (a separate `serve`) mid-run and restart it.
    let mut serve = spawn(&cluster, &["serve"], None);
    let handler_port = cluster.spec().handler_port;
    eventually("serve to listen", Duration::from_secs(30), || async {
        if restate_classify::host::port_is_free(handler_port) {
            Err("not yet".to_string())
        } else {
            Ok(())
        }
    })
    .await;
    let mut child = spawn(&cluster, &["classify", "--force", "--window", "100"], None);
    let run = run_with_at_least(&db, &runs, 100).await;
    serve.kill().unwrap();
    serve.wait().unwrap();
    let mut serve = spawn(&cluster, &["serve"], None);
    finish(&mut child, "handler kill");
    exactly_once(&cluster, &db, &run, COUNT).await;
    serve.kill().unwrap();
    serve.wait().unwrap();
    runs.push(run);

    // 3. kill -9 PostgreSQL mid-run; writes fail, Restate retries them; restarted, all land.
    let mut child = spawn(&cluster, &["classify", "--force", "--window", "100"], None);
    let run = run_with_at_least(&db, &runs, 100).await;
    cluster.ok(&["cluster", "kill", "postgres"]);
    cluster.ok(&["cluster", "start"]);
    finish(&mut child, "database kill");
    exactly_once(&cluster, &db, &run, COUNT).await;
    runs.push(run);

    // 4. The object store down for a whole run: the cluster keeps serving (snapshots wait).
    cluster.ok(&["cluster", "kill", "object-store"]);
    let mut child = spawn(&cluster, &["classify", "--force"], None);
    finish(&mut child, "object store down");
    let run = db.latest_run().await.unwrap();
    exactly_once(&cluster, &db, &run, COUNT).await;
    runs.push(run);
    cluster.start();

    // 5. Ctrl-C: submission stops, the run is left interrupted with a hint; a rerun resumes it.
    let mut child = spawn(
        &cluster,
        &["classify", "--force", "--window", "60"],
        Some(&out),
    );
    let run = run_with_at_least(&db, &runs, 60).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "an interrupted run exits 1");
    let printed = std::fs::read_to_string(&out).unwrap();
    assert!(
        printed.contains("interrupted") && printed.contains("resume"),
        "{printed}"
    );
    let run_status = db.run_status(&run).await.unwrap();
    assert_eq!(run_status, "interrupted");
    let resumed = cluster.ok(&["classify", "--json"]);
    let line = resumed
        .stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap();
    let summary: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(summary["run_id"], run.as_str());
    exactly_once(&cluster, &db, &run, COUNT).await;
}
