//! Command-line interface (clap derive). Every command parses and validates all its input before
//! it acts; each subcommand lives in its own file.

pub mod all_in_one;
pub mod bench;
pub mod bench_llm;
pub mod classify;
pub mod cluster;
pub mod compose;
pub mod db;
pub mod eval;
pub mod llm_args;
pub mod llm_sim;
pub mod serve;
pub mod setup;
pub mod status;

use crate::cluster::spec::Runtime;
use crate::config::{
    ClusterOverrides, ClusterSection, Config, ConfigError, DatabaseSection, FileConfig,
    ToolsSection,
};
use crate::db::target::DatabaseUrl;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// restate-classify: classify economic indicators through a six-stage pipeline run as durable
/// workflows on a multi-node Restate cluster.
#[derive(Debug, Parser)]
#[command(name = "restate-classify", version, about, long_about = None)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command (they may appear before or after the subcommand).
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// YAML config file (default: ./restate-classify.yaml when present).
    #[arg(
        long,
        global = true,
        env = "RESTATE_CLASSIFY_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Cluster name; its state lives in .restate-classify/<NAME> unless --state-dir is given.
    #[arg(long, global = true, env = "RESTATE_CLASSIFY_NAME")]
    pub name: Option<String>,
    /// The cluster's state dir (data, logs, generated configs and credentials).
    #[arg(
        long,
        global = true,
        env = "RESTATE_CLASSIFY_STATE_DIR",
        value_name = "DIR"
    )]
    pub state_dir: Option<PathBuf>,
    /// Number of Restate nodes (1-5; default 3).
    #[arg(long, global = true, env = "RESTATE_CLASSIFY_NODES")]
    pub nodes: Option<u32>,
    /// Add N to every port (node 1 ingress 8080+N, admin 9070+N, …) to run beside another cluster.
    #[arg(
        long,
        global = true,
        env = "RESTATE_CLASSIFY_PORT_OFFSET",
        value_name = "N"
    )]
    pub port_offset: Option<u32>,
    /// Partitions to provision (fixed when the cluster is first created; default 24).
    #[arg(long, global = true, env = "RESTATE_CLASSIFY_PARTITIONS")]
    pub partitions: Option<u16>,
    /// Runtime: native child processes (default), docker containers, or auto (docker when a
    /// Docker engine answers, else native). An existing cluster keeps the runtime it was made with.
    #[arg(long, global = true, env = "RESTATE_CLASSIFY_RUNTIME", value_enum)]
    pub runtime: Option<Runtime>,
    /// Address the handler server binds so the nodes reach it (default: 127.0.0.1 natively; the
    /// Docker host-gateway address, e.g. 172.17.0.1, for containers).
    #[arg(
        long,
        global = true,
        env = "RESTATE_CLASSIFY_HANDLER_BIND",
        value_name = "IP"
    )]
    pub handler_bind: Option<String>,
    /// Where `setup` installs tools and where they are looked up first (default .tools).
    #[arg(
        long,
        global = true,
        env = "RESTATE_CLASSIFY_TOOLS_DIR",
        value_name = "DIR"
    )]
    pub tools_dir: Option<PathBuf>,
    /// Path of restate-server.
    #[arg(
        long,
        global = true,
        env = "RESTATE_CLASSIFY_RESTATE_BIN",
        value_name = "PATH"
    )]
    pub restate_bin: Option<PathBuf>,
    /// Path of restatectl.
    #[arg(
        long,
        global = true,
        env = "RESTATE_CLASSIFY_RESTATECTL_BIN",
        value_name = "PATH"
    )]
    pub restatectl_bin: Option<PathBuf>,
    /// Path of SeaweedFS's weed.
    #[arg(
        long,
        global = true,
        env = "RESTATE_CLASSIFY_WEED_BIN",
        value_name = "PATH"
    )]
    pub weed_bin: Option<PathBuf>,
    /// Directory holding PostgreSQL's initdb and postgres.
    #[arg(
        long,
        global = true,
        env = "RESTATE_CLASSIFY_PG_BIN_DIR",
        value_name = "DIR"
    )]
    pub pg_bin_dir: Option<PathBuf>,
    /// External PostgreSQL (postgres://user:password@host:port/db) instead of the cluster's own
    /// database. Never printed.
    #[arg(
        long,
        global = true,
        env = "RESTATE_CLASSIFY_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<DatabaseUrl>,
    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// Layers these flags over the config file.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let file = FileConfig::load(self.config.as_deref())?;
        let overrides = ClusterOverrides {
            cluster: ClusterSection {
                name: self.name.clone(),
                nodes: self.nodes,
                port_offset: self.port_offset,
                partitions: self.partitions,
                state_dir: self.state_dir.clone(),
                runtime: self.runtime,
                handler_bind: self.handler_bind.clone(),
            },
            tools: ToolsSection {
                dir: self.tools_dir.clone(),
                restate_server: self.restate_bin.clone(),
                restatectl: self.restatectl_bin.clone(),
                weed: self.weed_bin.clone(),
                pg_bin_dir: self.pg_bin_dir.clone(),
            },
            database: DatabaseSection {
                url: self.database_url.clone(),
            },
        };
        Ok(Config::layer(&file, &overrides))
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install what the native runtime needs (restate-server, restatectl, SeaweedFS, PostgreSQL).
    Setup(setup::SetupArgs),
    /// Start, inspect, stop and clean the cluster.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Throughput benchmarks on the real cluster.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Classify a labelled dataset offline and report per-field accuracy and confusions.
    Eval(eval::EvalArgs),
    /// The main job: cluster start, data, handlers, classify everything, summary.
    AllInOne(all_in_one::AllInOneArgs),
    /// Classify pending indicators (all with --force) through the cluster.
    Classify(classify::ClassifyArgs),
    /// Run only the handler server (for an external cluster), until SIGTERM/SIGINT.
    Serve(serve::ServeArgs),
    /// The cluster and the latest run's progress.
    Status(status::StatusArgs),
    /// Create the schema, import indicator files, load the bundled dataset, show what is stored.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Print the docker compose file equivalent to `--runtime docker` for this spec
    /// (`restate-classify compose > compose/docker-compose.cluster.yml`).
    Compose(compose::ComposeArgs),
    /// Run an OpenAI/Anthropic-compatible LLM API simulator (rate limits, faults, latency;
    /// answers from the rules engine) to rehearse and benchmark at zero cost.
    LlmSim(llm_sim::LlmSimArgs),
}
