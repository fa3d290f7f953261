//! Shared helpers for integration tests: real services on free ports, torn down on drop.
#![allow(dead_code)]

use restate_classify::cluster::credentials::Credentials;
use restate_classify::cluster::postgres::{self, PgTarget};
use restate_classify::cluster::process::{self, Launch};
use restate_classify::cluster::spec::{ClusterSpec, SpecOptions};
use restate_classify::tools::{ToolOptions, ToolPaths};
use std::path::PathBuf;
use std::time::Duration;

/// Tool lookup as the Makefile sets it up (`RESTATE_CLASSIFY_TOOLS_DIR`, else `<repo>/.tools`).
pub fn tool_options() -> ToolOptions {
    let dir = std::env::var_os("RESTATE_CLASSIFY_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools"));
    ToolOptions {
        tools_dir: dir,
        ..Default::default()
    }
}

/// Resolved tools; panics with the setup hint when something is missing.
pub fn tools() -> ToolPaths {
    tool_options()
        .resolve()
        .unwrap_or_else(|e| panic!("integration tests need the native tools: {e}"))
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for one test process).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A real PostgreSQL server in a temp dir on a free port, stopped and deleted on drop.
pub struct TestPostgres {
    _dir: tempfile::TempDir,
    pid: u32,
    /// Connection parameters (database `classify`).
    pub target: PgTarget,
    /// Where its log goes.
    pub log: PathBuf,
}

impl TestPostgres {
    /// initdb + start + create the `classify` database.
    pub async fn start() -> Self {
        let tools = tools();
        let dir = tempfile::Builder::new()
            .prefix("rc-pg-")
            .tempdir()
            .expect("temp dir");
        let mut spec = ClusterSpec::new(&SpecOptions {
            state_dir: Some(dir.path().to_path_buf()),
            ..SpecOptions::default()
        })
        .expect("spec");
        spec.database.port = free_port();
        let creds = Credentials::generate();
        postgres::ensure_initialized(&spec, &creds, &tools.pg_bin_dir).expect("initdb");
        let log = dir.path().join("postgres.log");
        let launch: Launch = postgres::launch(&spec, &tools.pg_bin_dir, log.clone());
        let pid = process::spawn_detached(&launch).expect("start postgres");
        let target = PgTarget::of_cluster(&spec, &creds);
        target
            .wait_and_create_database(Duration::from_secs(60), &log)
            .await
            .expect("postgres ready");
        Self {
            _dir: dir,
            pid,
            target,
            log,
        }
    }

    /// Connection URL with password.
    pub fn url(&self) -> String {
        self.target.url()
    }

    /// Process id (for fault injection).
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let _ = process::terminate(
            self.pid,
            "postgres",
            nix::sys::signal::Signal::SIGINT,
            Duration::from_secs(20),
        );
    }
}

/// Path of the binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_restate-classify"))
}

/// A port offset under which every port of an `nodes`-node cluster is free right now.
pub fn free_offset(nodes: u32) -> u32 {
    use rand::RngExt;
    let mut rng = rand::rng();
    for _ in 0..200 {
        let offset = rng.random_range(100..20_000);
        let Ok(spec) = ClusterSpec::new(&SpecOptions {
            nodes,
            port_offset: offset,
            ..SpecOptions::default()
        }) else {
            continue;
        };
        if spec
            .all_ports()
            .iter()
            .all(|(p, _)| process::port_is_free(*p))
        {
            return offset;
        }
    }
    panic!("no free port offset found");
}

/// A cluster driven through the real binary, in a temp state dir on free ports; cleaned on drop.
pub struct TestCluster {
    /// Temp dir holding the state dir.
    pub dir: tempfile::TempDir,
    /// Port offset.
    pub offset: u32,
    /// Node count.
    pub nodes: u32,
}

/// Output of one CLI run.
#[derive(Debug)]
pub struct CliOutput {
    /// Exit code.
    pub code: i32,
    /// Stdout.
    pub stdout: String,
    /// Stderr.
    pub stderr: String,
}

impl TestCluster {
    /// Prepares (does not start) a cluster.
    pub fn new(nodes: u32) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rc-cluster-")
            .tempdir()
            .expect("temp dir");
        Self {
            dir,
            offset: free_offset(nodes),
            nodes,
        }
    }

    /// The cluster's state dir.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The spec the binary will use.
    pub fn spec(&self) -> ClusterSpec {
        ClusterSpec::new(&SpecOptions {
            nodes: self.nodes,
            port_offset: self.offset,
            state_dir: Some(self.state_dir()),
            name: "test".into(),
            ..SpecOptions::default()
        })
        .expect("spec")
    }

    /// Runs the binary with this cluster's global flags plus `args`.
    pub fn cli(&self, args: &[&str]) -> CliOutput {
        let out = std::process::Command::new(bin())
            .args(args)
            .arg("--name")
            .arg("test")
            .arg("--state-dir")
            .arg(self.state_dir())
            .arg("--nodes")
            .arg(self.nodes.to_string())
            .arg("--port-offset")
            .arg(self.offset.to_string())
            .env("RESTATE_CLASSIFY_TOOLS_DIR", tool_options().tools_dir)
            .output()
            .expect("run restate-classify");
        CliOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs the binary and panics with its output unless it exits 0.
    pub fn ok(&self, args: &[&str]) -> CliOutput {
        let out = self.cli(args);
        assert_eq!(
            out.code,
            0,
            "`{}` failed:\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
        out
    }

    /// `cluster start`.
    pub fn start(&self) -> CliOutput {
        self.ok(&["cluster", "start"])
    }

    /// `cluster status --json`, parsed (exit code alongside).
    pub fn status(&self) -> (i32, serde_json::Value) {
        let out = self.cli(&["cluster", "status", "--json"]);
        let json = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("status JSON: {e}\n{}\n{}", out.stdout, out.stderr));
        (out.code, json)
    }

    /// Pid of a component from `cluster.json`, if recorded.
    pub fn pid(&self, component: &str) -> Option<u32> {
        let text = std::fs::read_to_string(self.state_dir().join("cluster.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["components"][component]["pid"].as_u64().map(|p| p as u32)
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if self.state_dir().exists() {
            let out = self.cli(&["cluster", "clean"]);
            if out.code != 0 {
                eprintln!("cluster clean failed: {}\n{}", out.stdout, out.stderr);
            }
        }
    }
}

/// Serialises tests that run whole clusters (each is several processes on a 2-core machine).
pub async fn cluster_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// Polls `check` every 200 ms until it returns `Some`, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(e) if std::time::Instant::now() >= deadline => {
                panic!("{what}: still failing after {timeout:?}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
