//! Shared helpers for integration tests: real services on free ports, torn down on drop.
#![allow(dead_code)]

pub mod real_run;
pub mod runs;

use restate_classify::cluster::credentials::Credentials;
use restate_classify::cluster::native::postgres;
use restate_classify::cluster::native::process::{self, Launch};
use restate_classify::cluster::spec::{ClusterSpec, Images, Runtime, SpecOptions};
use restate_classify::db::server::PgTarget;
use restate_classify::tools::{ToolPaths, ToolSettings};
use std::path::PathBuf;
use std::time::Duration;

/// Tool lookup as the Makefile sets it up (`RESTATE_CLASSIFY_TOOLS_DIR`, else `<repo>/.tools`).
pub fn tool_options() -> ToolSettings {
    let dir = std::env::var_os("RESTATE_CLASSIFY_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools"));
    ToolSettings {
        dir: Some(dir),
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
        let target = restate_classify::cluster::pg_target(&spec, &creds);
        eventually(
            "the test PostgreSQL to accept our login",
            Duration::from_secs(60),
            || async { target.ping("postgres").await.map_err(|e| e.to_string()) },
        )
        .await;
        target
            .create_database_if_missing()
            .await
            .expect("create the database");
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

    /// A client of its database.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls)
            .await
            .expect("connect to the test PostgreSQL");
        tokio::spawn(conn);
        client
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
    free_offset_for(nodes, Runtime::Native)
}

/// [`free_offset`] for a cluster on `runtime` (the object store's ports differ).
pub fn free_offset_for(nodes: u32, runtime: Runtime) -> u32 {
    use rand::RngExt;
    let mut rng = rand::rng();
    for _ in 0..200 {
        let offset = rng.random_range(100..20_000);
        let Ok(spec) = ClusterSpec::new(&SpecOptions {
            nodes,
            port_offset: offset,
            runtime,
            ..SpecOptions::default()
        }) else {
            continue;
        };
        if spec
            .all_ports()
            .iter()
            .all(|(p, _)| restate_classify::host::port_is_free(*p))
        {
            return offset;
        }
    }
    panic!("no free port offset found");
}

/// The images the binary will run: as `RESTATE_CLASSIFY_*_IMAGE` name them (what
/// `scripts/build-images.sh --print-env` exports), else the pinned defaults.
pub fn images_from_env() -> Images {
    use restate_classify::cluster::container_spec::{
        ENV_OBJECT_STORE_IMAGE, ENV_POSTGRES_IMAGE, ENV_RESTATE_IMAGE,
    };
    let d = Images::default();
    let var = |name: &str, default: String| std::env::var(name).unwrap_or(default);
    Images {
        restate: var(ENV_RESTATE_IMAGE, d.restate),
        object_store: var(ENV_OBJECT_STORE_IMAGE, d.object_store),
        postgres: var(ENV_POSTGRES_IMAGE, d.postgres),
    }
}

/// A cluster driven through the real binary, in a temp state dir on free ports; cleaned on drop.
pub struct TestCluster {
    /// Temp dir holding the state dir.
    pub dir: tempfile::TempDir,
    /// Port offset.
    pub offset: u32,
    /// Node count.
    pub nodes: u32,
    /// The runtime it runs on (`--runtime`).
    pub runtime: Runtime,
    /// Cluster name (`--name`).
    pub name: String,
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
    /// Prepares (does not start) a cluster on the native runtime.
    pub fn new(nodes: u32) -> Self {
        Self::on(nodes, Runtime::Native)
    }

    /// Prepares (does not start) a cluster on `runtime`.
    pub fn on(nodes: u32, runtime: Runtime) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rc-cluster-")
            .tempdir()
            .expect("temp dir");
        Self {
            dir,
            offset: free_offset_for(nodes, runtime),
            nodes,
            runtime,
            name: "test".into(),
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
            name: self.name.clone(),
            runtime: self.runtime,
            images: images_from_env(),
            ..SpecOptions::default()
        })
        .expect("spec")
    }

    /// The global flags every command of this cluster gets.
    pub fn global_args(&self) -> Vec<String> {
        let runtime = match self.runtime {
            Runtime::Docker => "docker",
            _ => "native",
        };
        [
            "--name",
            &self.name,
            "--nodes",
            &self.nodes.to_string(),
            "--port-offset",
            &self.offset.to_string(),
            "--runtime",
            runtime,
            "--state-dir",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([self.state_dir().display().to_string()])
        .collect()
    }

    /// The binary with this cluster's global flags, for commands run in the background.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(bin());
        c.args(args)
            .args(self.global_args())
            .env("RESTATE_CLASSIFY_TOOLS_DIR", tool_options().tools_dir());
        c
    }

    /// Runs the binary with this cluster's global flags plus `args`.
    pub fn cli(&self, args: &[&str]) -> CliOutput {
        let out = self.command(args).output().expect("run restate-classify");
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

    /// The admin API of the first node that answers (a test may have killed some).
    pub async fn live_admin(&self) -> restate_classify::restate::admin::AdminClient {
        let http = reqwest::Client::new();
        for n in &self.spec().nodes {
            let admin = restate_classify::restate::admin::AdminClient::new(
                http.clone(),
                format!("http://127.0.0.1:{}", n.admin_port),
            );
            if admin.healthy().await {
                return admin;
            }
        }
        panic!("no admin API of the test cluster answers")
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

/// The JSON summary a `--json` command prints as its last JSON line.
pub fn summary(out: &CliOutput) -> serde_json::Value {
    let line = out
        .stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON summary:\n{}\n{}", out.stdout, out.stderr));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("summary JSON ({e}): {line}"))
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
