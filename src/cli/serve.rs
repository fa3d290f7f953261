//! `serve`: run only the handler server (for an external cluster, or beside `classify`), until
//! SIGTERM or SIGINT, then drain in-flight requests and exit.

use crate::app::session::handler_endpoint;
use crate::cluster::RecordedCluster;
use crate::config::Config;
use crate::restate::serve::{bind, serve};
use crate::service::app::App;
use clap::Args;
use std::net::SocketAddr;
use std::sync::Arc;

/// Arguments of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: the cluster's handler port on 127.0.0.1).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Accept only requests signed with this Restate request-identity public key
    /// (`publickeyv1_…`); default: the local cluster's generated key.
    #[arg(long, env = "RESTATE_CLASSIFY_IDENTITY_KEY", value_name = "KEY")]
    pub identity_key: Option<String>,
    /// Accept unsigned requests (only for clusters without request signing).
    #[arg(long, conflicts_with = "identity_key")]
    pub insecure_no_identity: bool,
    /// Who answers the LLM-capable stages (rules by default), LLM budgets and cache.
    #[command(flatten)]
    pub llm: crate::llm::LlmSettings,
}

/// Resolves once SIGTERM or SIGINT arrives.
pub(crate) async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Serves until a signal.
pub async fn run(config: &Config, args: &ServeArgs) -> anyhow::Result<i32> {
    let recorded = RecordedCluster::read(&config.cluster)?;
    let spec = &recorded.spec;
    let key = match (&args.identity_key, args.insecure_no_identity) {
        (Some(k), _) => Some(k.clone()),
        (None, true) => None,
        (None, false) => {
            let creds = recorded.creds.as_ref().ok_or_else(|| anyhow::anyhow!(
                "no cluster credentials in {}: pass --identity-key (the cluster's request-identity public key) or --insecure-no-identity",
                spec.state_dir.display()
            ))?;
            Some(creds.request_identity_public_key.clone())
        }
    };
    let target = crate::app::database(config)?;
    let pool = crate::db::pool::build(
        &target,
        &crate::db::pool::PoolOptions {
            max_size: 48,
            ..Default::default()
        },
    )?;
    let llm_config = config.llm()?;
    let executor = Arc::new(crate::llm::Executor::from_config(
        &llm_config,
        Some(pool.clone()),
    )?);
    let app = App::new(pool.clone(), executor.clone());
    let addr = args.bind.unwrap_or_else(|| spec.handler_addr());
    let listener = bind(addr).await?;
    eprintln!(
        "serving handlers on http://{addr} (HTTP/2){}; database {}; Ctrl-C or SIGTERM to stop",
        if key.is_some() {
            ", signed requests only"
        } else {
            ""
        },
        target.display_url()
    );
    serve(
        handler_endpoint(key.as_deref(), Some(app))?,
        listener,
        shutdown_signal(),
    )
    .await;
    executor.flush().await;
    eprintln!("handler server stopped");
    Ok(0)
}
