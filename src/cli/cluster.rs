//! `cluster start|status|stop|clean|logs|kill`.

use crate::app::{self, session::handler_endpoint};
use crate::cluster::Cluster;
use crate::cluster::spec::Runtime;
use crate::cluster::status::ClusterStatus;
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

/// Opens the cluster the config describes, on the runtime it runs on (or is asked to).
pub(crate) async fn open(config: &Config) -> anyhow::Result<Cluster> {
    Ok(Cluster::open(&config.cluster, &config.tools).await?)
}

/// The endpoint served for readiness probes.
fn probe(cluster: &Cluster) -> anyhow::Result<restate_sdk::prelude::Endpoint> {
    Ok(handler_endpoint(
        Some(&cluster.creds().request_identity_public_key),
        None,
    )?)
}

fn say(line: &str) {
    eprintln!("  {line}");
}

/// Runs a cluster subcommand; returns the process exit code.
pub async fn run(config: &Config, cmd: &ClusterCommand) -> anyhow::Result<i32> {
    let cluster = open(config).await?;
    match cmd {
        ClusterCommand::Start(args) => {
            app::session::start(&cluster, Duration::from_secs(args.timeout), &mut say).await?;
            print_addresses(&cluster);
            Ok(0)
        }
        ClusterCommand::Status(args) => {
            let status = cluster.status(probe(&cluster)?).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_status(&status);
            }
            Ok(if status.all_ready() { 0 } else { 1 })
        }
        ClusterCommand::Stop => {
            let stopped = cluster.stop(&mut say).await?;
            let spec = cluster.spec();
            if stopped.is_empty() {
                eprintln!("nothing was running for cluster {:?}", spec.name);
            } else if cluster.runtime() == Runtime::Docker {
                eprintln!(
                    "stopped; containers and their volumes are kept (state in {})",
                    abs(&spec.state_dir)
                );
            } else {
                eprintln!("stopped; data kept in {}", abs(&spec.state_dir));
            }
            Ok(0)
        }
        ClusterCommand::Clean(_) => {
            cluster.clean(&mut say).await?;
            Ok(0)
        }
        ClusterCommand::Logs(args) => {
            let components = match &args.node {
                Some(n) => vec![cluster.component(n)?],
                None => cluster.components(),
            };
            for c in components {
                if args.node.is_none() {
                    println!("==> {c} ({}) <==", cluster.log_source(c));
                }
                match cluster.logs(c, args.lines).await {
                    Ok(text) => println!("{text}"),
                    Err(e) => eprintln!("{e}"),
                }
            }
            Ok(0)
        }
        ClusterCommand::Kill(args) => {
            let component = cluster.component(&args.node)?;
            match cluster.kill(component).await? {
                Some(what) => eprintln!("killed {component} ({what}) with SIGKILL"),
                None => eprintln!("{component} was not running"),
            }
            Ok(0)
        }
    }
}

fn abs(p: &std::path::Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// Prints where everything is reachable and where state persists.
pub(crate) fn print_addresses(cluster: &Cluster) {
    let spec = cluster.spec();
    let docker = cluster.runtime() == Runtime::Docker;
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
        if docker {
            format!(
                "bucket {}/{}   MinIO console {}",
                spec.object_store.bucket,
                spec.object_store.prefix,
                spec.url(spec.object_store.console_port)
            )
        } else {
            format!(
                "bucket {}/{}",
                spec.object_store.bucket, spec.object_store.prefix
            )
        },
    ]);
    t.add_row(vec![
        "postgres".to_string(),
        cluster.pg_target().display_url(),
        String::new(),
    ]);
    t.add_row(vec![
        "handlers".to_string(),
        spec.handler_url(),
        format!(
            "served by `serve` / `all-in-one` on {}:{}",
            spec.handler_bind_host(),
            spec.handler_port
        ),
    ]);
    println!("{t}");
    if docker {
        println!(
            "containers, volumes and network are labelled {}={}",
            crate::cluster::container_spec::LABEL_CLUSTER,
            spec.name
        );
    }
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
