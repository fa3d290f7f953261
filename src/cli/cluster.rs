//! `cluster start|status|stop|clean|logs|kill`.

use crate::cluster::native::{ClusterStatus, NativeCluster, NativeError};
use crate::cluster::process;
use crate::cluster::spec::Runtime;
use crate::config::Config;
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use std::time::Duration;

/// Cluster subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Start the object store, PostgreSQL and the Restate nodes; return when the cluster is ready.
    Start(StartArgs),
    /// Show each component and whether it is ready (exit 0 only when all are).
    Status(StatusArgs),
    /// Stop everything this state dir started; data is kept.
    Stop,
    /// Stop everything and delete all data of all nodes, the object store and the database.
    Clean(CleanArgs),
    /// Show a component's log (restate-1…, object-store, postgres); all components without NODE.
    Logs(LogsArgs),
    /// SIGKILL one component (fault injection); `cluster start` brings it back.
    Kill(KillArgs),
}

/// Arguments of `cluster start`.
#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    /// Give up if the cluster is not ready after this many seconds.
    #[arg(long, default_value_t = 180, value_name = "SECS")]
    pub timeout: u64,
}

/// Arguments of `cluster status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `cluster clean`.
#[derive(Debug, Clone, Args)]
pub struct CleanArgs {}

/// Arguments of `cluster logs`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// Component: restate-1 (or 1, n1), object-store (s3), postgres (db).
    pub node: Option<String>,
    /// Lines from the end of each log.
    #[arg(short = 'n', long, default_value_t = 100)]
    pub lines: usize,
}

/// Arguments of `cluster kill`.
#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    /// Component to kill.
    pub node: String,
}

/// Opens the native cluster the config describes.
pub fn open(config: &Config) -> anyhow::Result<NativeCluster> {
    if config.runtime == Runtime::Docker {
        anyhow::bail!(
            "--runtime docker is not available yet; use the native runtime (the default)"
        );
    }
    let spec = config.spec()?;
    let tools = config.tools.resolve()?;
    Ok(NativeCluster::open(spec, tools)?)
}

/// The endpoint served for readiness probes.
fn endpoint(cluster: &NativeCluster) -> anyhow::Result<restate_sdk::prelude::Endpoint> {
    Ok(crate::service::endpoint(
        Some(&cluster.creds.request_identity_public_key),
        &Default::default(),
    )?)
}

fn say(line: &str) {
    eprintln!("  {line}");
}

/// Runs a cluster subcommand; returns the process exit code.
pub async fn run(config: &Config, cmd: &ClusterCommand) -> anyhow::Result<i32> {
    match cmd {
        ClusterCommand::Start(args) => {
            let cluster = open(config)?;
            start(&cluster, Duration::from_secs(args.timeout)).await?;
            print_addresses(&cluster);
            Ok(0)
        }
        ClusterCommand::Status(args) => {
            let cluster = open(config)?;
            let status = cluster.status(endpoint(&cluster)?).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_status(&status);
            }
            Ok(if status.all_ready() { 0 } else { 1 })
        }
        ClusterCommand::Stop => {
            let cluster = open(config)?;
            let stopped = cluster.stop(&mut say)?;
            if stopped.is_empty() {
                eprintln!("nothing was running for cluster {:?}", cluster.spec.name);
            } else {
                eprintln!("stopped; data kept in {}", abs(&cluster.spec.state_dir));
            }
            Ok(0)
        }
        ClusterCommand::Clean(_) => {
            let cluster = open(config)?;
            cluster.clean(&mut say)?;
            Ok(0)
        }
        ClusterCommand::Logs(args) => {
            let cluster = open(config)?;
            let components = match &args.node {
                Some(n) => vec![cluster.component(n)?],
                None => cluster.component_names(),
            };
            for c in components {
                let path = cluster.log_file(&c);
                if args.node.is_none() {
                    println!("==> {c} ({}) <==", path.display());
                }
                match process::tail(&path, args.lines) {
                    Ok(text) => println!("{text}"),
                    Err(e) => eprintln!("no log for {c} at {}: {e}", path.display()),
                }
            }
            Ok(0)
        }
        ClusterCommand::Kill(args) => {
            let cluster = open(config)?;
            let component = cluster.component(&args.node)?;
            match cluster.kill(&component)? {
                Some(pid) => eprintln!("killed {component} (pid {pid}) with SIGKILL"),
                None => eprintln!("{component} was not running"),
            }
            Ok(0)
        }
    }
}

/// Starts the cluster, printing progress, and reports what was already up.
pub async fn start(cluster: &NativeCluster, timeout: Duration) -> Result<(), anyhow::Error> {
    eprintln!(
        "starting cluster {:?} ({} nodes) in {}",
        cluster.spec.name,
        cluster.spec.nodes.len(),
        abs(&cluster.spec.state_dir)
    );
    let report = cluster
        .start(endpoint(cluster)?, timeout, &mut say)
        .await
        .map_err(explain)?;
    if report.started.is_empty() {
        eprintln!(
            "everything was already up and is ready: {}",
            report.already_running.join(", ")
        );
    } else if !report.already_running.is_empty() {
        eprintln!("already running: {}", report.already_running.join(", "));
    }
    Ok(())
}

fn explain(e: NativeError) -> anyhow::Error {
    anyhow::Error::new(e)
}

fn abs(p: &std::path::Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// Prints where everything is reachable and where state persists.
pub fn print_addresses(cluster: &NativeCluster) {
    let spec = &cluster.spec;
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY);
    t.set_header(vec!["component", "address", "also"]);
    for n in &spec.nodes {
        t.add_row(vec![
            n.name.clone(),
            format!("ingress {}", spec.url(n.ingress_port)),
            format!(
                "admin + UI {}   node {}",
                spec.url(n.admin_port),
                spec.url(n.node_port)
            ),
        ]);
    }
    t.add_row(vec![
        "object store".to_string(),
        format!("S3 {}", spec.s3_endpoint()),
        format!(
            "bucket {}/{}",
            spec.object_store.bucket, spec.object_store.prefix
        ),
    ]);
    t.add_row(vec![
        "postgres".to_string(),
        cluster.pg_target().display_url(),
        String::new(),
    ]);
    t.add_row(vec![
        "handlers".to_string(),
        spec.handler_url(),
        "served by `serve` / `all-in-one`".into(),
    ]);
    println!("{t}");
    println!("state persists in {}", abs(&spec.state_dir));
    println!(
        "credentials (generated, mode 0600): {}",
        abs(&spec.dirs().credentials_file())
    );
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn print_status(s: &ClusterStatus) {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY);
    t.set_header(vec![
        "component",
        "address",
        "pid",
        "alive",
        "ready",
        "detail",
    ]);
    for n in &s.nodes {
        t.add_row(vec![
            n.name.clone(),
            format!("{}  (admin {})", n.ingress, n.admin),
            n.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            yes_no(n.alive).into(),
            yes_no(n.ready).into(),
            n.detail.clone().unwrap_or_default(),
        ]);
    }
    t.add_row(vec![
        "object store".into(),
        s.object_store.endpoint.clone(),
        s.object_store
            .pid
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into()),
        yes_no(s.object_store.pid.is_some()).into(),
        yes_no(s.object_store.ready).into(),
        String::new(),
    ]);
    t.add_row(vec![
        "postgres".into(),
        s.database.url.clone(),
        s.database
            .pid
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into()),
        yes_no(s.database.pid.is_some()).into(),
        yes_no(s.database.ready).into(),
        String::new(),
    ]);
    println!("{t}");
    if let Some((led, total)) = s.partitions {
        println!("partitions with a leader: {led}/{total}");
    }
    println!(
        "cluster {:?}: {}",
        s.name,
        if s.all_ready() { "ready" } else { "NOT ready" }
    );
}
