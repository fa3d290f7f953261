//! `classify`: submit every pending indicator as a durable workflow, round-robin over the ready
//! nodes, and follow stored completions to the end. Serves the handlers in-process when nothing
//! else serves the handler port.

use crate::cli::cluster;
use crate::cli::llm_args::LlmArgs;
use crate::config::Config;
use crate::db::runs::Selection;
use crate::llm::feedback::spawn_admission_feedback;
use crate::restate::admin::AdminClient;
use crate::restate::ingress::IngressClient;
use crate::service::app::App;
use crate::service::server::BackgroundServer;
use crate::service::{Handlers, endpoint};
use crate::submit::admission::Admission;
use crate::submit::nodes::NodePool;
use crate::submit::progress::human;
use crate::submit::run::{RunDeps, RunOptions, RunSummary, classify};
use clap::Args;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Throughput profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Most workflows in flight.
    pub window: usize,
    /// Concurrent submission requests.
    pub concurrency: usize,
}

/// Default profile: a window the cluster serves without long queues.
pub const DEFAULT_PROFILE: Profile = Profile {
    window: 300,
    concurrency: 16,
};
/// `--fast`: the largest window the budget allows (rules: what the cluster sustains without
/// queueing past its invoker limits), more submission concurrency.
pub const FAST_PROFILE: Profile = Profile {
    window: 800,
    concurrency: 48,
};

/// Most workflows in flight with `--fast` and an LLM provider: the budget feedback decides
/// below this.
pub const FAST_LLM_WINDOW_CAP: usize = 3000;

/// Arguments of `classify`.
#[derive(Debug, Clone, Args)]
pub struct ClassifyArgs {
    /// Reclassify every indicator (a new run with new workflow keys).
    #[arg(long)]
    pub force: bool,
    /// Only indicators whose last outcome was a failure.
    #[arg(long, conflicts_with = "force")]
    pub retry_failed: bool,
    /// At most N indicators.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Only indicators with these names (comma separated, case-insensitive).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub names: Vec<String>,
    /// Who answers the LLM-capable stages (rules by default), LLM budgets and cache.
    #[command(flatten)]
    pub llm: LlmArgs,
    /// Ingress URLs of an external cluster (comma separated) instead of the local one.
    #[arg(long, value_delimiter = ',', value_name = "URL,...")]
    pub ingress: Vec<String>,
    /// Admin URLs of an external cluster (comma separated), for registration.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "URL,...",
        requires = "ingress"
    )]
    pub admin: Vec<String>,
    /// URL under which the cluster reaches this process's handlers (external clusters).
    #[arg(long, value_name = "URL", requires = "ingress")]
    pub handler_url: Option<String>,
    /// High-throughput profile: window 800 in-flight workflows, 48 concurrent submissions.
    #[arg(long)]
    pub fast: bool,
    /// Override the in-flight window.
    #[arg(long, value_name = "N")]
    pub window: Option<usize>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

impl ClassifyArgs {
    /// The throughput profile these flags select.
    pub fn profile(&self) -> Profile {
        let mut p = if self.fast {
            FAST_PROFILE
        } else {
            DEFAULT_PROFILE
        };
        if let Some(w) = self.window {
            p.window = w.max(1);
        }
        p
    }
}

/// Runs `classify` against the local cluster (which must be running) or `--ingress` nodes.
pub async fn run(
    config: &Config,
    args: &ClassifyArgs,
    cancel: CancellationToken,
) -> anyhow::Result<RunSummary> {
    let llm_config = args.llm.config(&config.llm)?;
    let target = crate::db::target::resolve(config)?;
    let pool = crate::db::pool::connect(
        &target,
        &crate::db::pool::PoolOptions {
            max_size: 48,
            ..Default::default()
        },
    )
    .await?;
    {
        let mut client = pool.get().await?;
        crate::db::migrate::run_embedded(&mut client).await?;
    }
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .build()?;
    let (nodes, admins, handler_url, identity, handler_addr) = if args.ingress.is_empty() {
        let c = cluster::open(config).await?;
        let nodes: Vec<(String, IngressClient)> = c
            .spec()
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .zip(c.ingresses())
            .collect();
        (
            nodes,
            c.admins(),
            c.spec().handler_url(),
            Some(c.creds().request_identity_public_key.clone()),
            c.spec().handler_addr(),
        )
    } else {
        let nodes = args
            .ingress
            .iter()
            .enumerate()
            .map(|(i, u)| {
                (
                    format!("node-{}", i + 1),
                    IngressClient::new(http.clone(), u.clone()),
                )
            })
            .collect();
        let admins = args
            .admin
            .iter()
            .map(|u| AdminClient::new(http.clone(), u.clone()))
            .collect();
        let url = args
            .handler_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:9080".into());
        let port = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.port())
            .unwrap_or(9080);
        (
            nodes,
            admins,
            url,
            None,
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )
    };

    // One executor, so one limiter and one cache, for every stage and every node.
    let executor = Arc::new(crate::llm::Executor::from_config(
        &llm_config,
        Some(pool.clone()),
    )?);
    let app = App::new(pool.clone(), executor.clone());
    let handlers = Handlers {
        app: Some(app.clone()),
        ..Default::default()
    };
    let server = if crate::cluster::process::port_is_free(handler_addr.port()) {
        BackgroundServer::start(handler_addr, endpoint(identity.as_deref(), &handlers)?).await?
    } else {
        eprintln!(
            "handler port {} is already served (serve/all-in-one); using it",
            handler_addr.port()
        );
        BackgroundServer::none(handler_addr)
    };
    register_everywhere(&admins, &handler_url).await?;

    let profile = args.profile();
    let admission = Arc::new(Admission::new(profile.window));
    // With an LLM, the budget limits throughput: the window follows what it can serve (Little's
    // law, corrected until the budget is busy). `--fast` lets it grow as far as the budget needs;
    // otherwise it stays under the profile's window. An explicit --window is a hard cap.
    let cap = match (args.window, args.fast) {
        (Some(w), _) => w.max(1),
        (None, true) => FAST_LLM_WINDOW_CAP,
        (None, false) => profile.window,
    };
    let feedback = executor.uses_llm().then(|| {
        spawn_admission_feedback(
            executor.clone(),
            admission.clone(),
            (1, cap),
            Duration::from_secs(1),
            cancel.child_token(),
        )
    });
    let deps = RunDeps {
        db: pool.clone(),
        nodes: Arc::new(NodePool::new(nodes)),
        extra: executor.uses_llm().then(|| executor.budget_lines()),
        admission,
    };
    let opts = RunOptions {
        selection: Selection {
            force: args.force,
            retry_failed: args.retry_failed,
            names: args.names.clone(),
            limit: args.limit,
        },
        window: profile.window,
        concurrency: profile.concurrency,
        recorded: serde_json::json!({
            "provider": args.llm.provider.unwrap_or(crate::llm::ProviderKind::Rules),
            "stages": app.executor.describe(),
            "llm": {
                "rpm": llm_config.limiter.rpm,
                "tpm": llm_config.limiter.tpm,
                "concurrency": llm_config.limiter.concurrency,
                "cache": llm_config.cache,
            },
            "window": profile.window,
            "concurrency": profile.concurrency,
            "fast": args.fast,
        }),
    };
    let summary = classify(&deps, &opts, cancel.clone()).await;
    server.stop().await;
    if let Some(f) = feedback {
        f.abort();
    }
    executor.flush().await;
    if let Some(s) = executor.summary() {
        tracing::info!(?s, "LLM summary");
        if !args.json {
            eprintln!("{}", crate::llm::meter::describe_summary(&s));
        }
    }
    Ok(summary?)
}

/// Registers the handler endpoint with `force` and checks that every admin API that answers
/// lists it (a node that is down gets the registration from the cluster when it rejoins).
pub async fn register_everywhere(admins: &[AdminClient], uri: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    let services = loop {
        let mut done = None;
        for a in admins {
            match a.register(uri, true).await {
                Ok(d) => {
                    done = Some(d.services);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(s) = done {
            break s;
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "could not register {uri}: {}",
                last.map(|e| e.to_string()).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    loop {
        let mut up = Vec::new();
        for a in admins {
            if a.healthy().await {
                up.push(a.clone());
            } else {
                tracing::warn!(admin = %a.base(), "admin API not answering; it will learn the registration when it rejoins");
            }
        }
        let missing = crate::cluster::health::admins_missing_services(&up, &services).await;
        if missing.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "registration of {uri} not visible on {}",
                missing.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Prints the end-of-run summary (table, or JSON with `json`).
pub fn print_summary(s: &RunSummary, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::json!({
                "run_id": s.run_id,
                "total": s.total,
                "classified": s.classified,
                "failed": s.failed,
                "elapsed_s": (s.elapsed_s * 10.0).round() / 10.0,
            })
        );
        return Ok(());
    }
    if s.total == 0 {
        println!(
            "nothing to classify: every indicator already has a classification (use --force to reclassify)"
        );
        return Ok(());
    }
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY);
    t.set_header(vec!["run", &s.run_id]);
    t.add_row(vec!["indicators".to_string(), s.total.to_string()]);
    t.add_row(vec!["classified".to_string(), s.classified.to_string()]);
    t.add_row(vec!["failed".to_string(), s.failed.to_string()]);
    t.add_row(vec![
        "wall time".to_string(),
        human(Duration::from_secs_f64(s.elapsed_s)),
    ]);
    t.add_row(vec![
        "indicators/min".to_string(),
        format!("{:.0}", s.per_minute()),
    ]);
    t.add_row(vec![
        "submitted".to_string(),
        format!(
            "{} new, {} already known to Restate, {} retried on another node",
            s.submitted, s.previously_accepted, s.retries
        ),
    ]);
    t.add_row(vec![
        "per node".to_string(),
        s.per_node
            .iter()
            .map(|(n, c)| format!("{n}: {c}"))
            .collect::<Vec<_>>()
            .join(", "),
    ]);
    if s.resumed {
        t.add_row(vec![
            "resumed".to_string(),
            "yes (continued an interrupted run)".to_string(),
        ]);
    }
    println!("{t}");
    if !s.failures.is_empty() {
        println!("failures (first {}):", s.failures.len());
        for (id, why) in &s.failures {
            println!("  {id}: {why}");
        }
        println!("retry them with: restate-classify classify --retry-failed");
    }
    if s.interrupted {
        println!(
            "interrupted: {} of {} done. Workflows already submitted stay durable in Restate; run `restate-classify classify` (or all-in-one) again to resume run {}.",
            s.classified + s.failed,
            s.total,
            s.run_id
        );
    }
    Ok(())
}
