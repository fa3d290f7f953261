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
