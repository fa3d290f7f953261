//! A session: everything one job needs, opened once, in order — the cluster (started and
//! waited for when asked) or an external one, the database pool with the schema migrated, the
//! LLM executor (one limiter and one cache for every stage of every node), and the handler
//! server serving the handlers with that state, registered with the nodes.

use super::AppError;
use crate::cluster::{Cluster, health};
use crate::config::Config;
use crate::db::target::{DatabaseTarget, Origin};
use crate::llm::{Executor, LlmConfig};
use crate::restate::admin::AdminClient;
use crate::restate::ingress::IngressClient;
use crate::restate::serve::{BackgroundServer, serve_unless_taken};
use crate::service::app::App;
use crate::service::{Handlers, endpoint, endpoint_with};
use deadpool_postgres::Pool;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long registration may take.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(60);

/// A Restate cluster this binary does not manage (Kubernetes, Restate Cloud, …): nothing of it is
/// started or stopped here, its nodes must reach this process's handlers at `handler_url`.
#[derive(Debug, Clone)]
pub(crate) struct External {
    /// Ingress URLs.
    pub ingress: Vec<String>,
    /// Admin URLs (for registration).
    pub admin: Vec<String>,
    /// Where the nodes reach this process's handlers.
    pub handler_url: String,
}

/// Where the workflows run.
pub(crate) enum Nodes {
    /// The cluster this binary manages.
    Local(Box<Cluster>),
    /// A cluster it only uses.
    External(External),
}

/// What to open.
pub(crate) struct SessionOptions {
    /// Use this cluster instead of the local one.
    pub external: Option<External>,
    /// Start the local cluster (what is not running) and wait this long for it to be ready.
    pub start: Option<Duration>,
    /// Who answers the stages.
    pub llm: LlmConfig,
    /// Most database connections.
    pub pool_size: usize,
    /// Load the bundled dataset when the database has no indicators.
    pub seed_if_empty: bool,
    /// More services for the handler server (the benchmarks bind theirs).
    pub extra_services: Option<ExtraServices>,
}

/// Binds more services on the handler endpoint.
pub(crate) type ExtraServices =
    Box<dyn FnOnce(restate_sdk::endpoint::Builder) -> restate_sdk::endpoint::Builder + Send>;

impl SessionOptions {
    /// A session with `llm` answering, on the local cluster as it is (not started).
    pub(crate) fn new(llm: LlmConfig) -> Self {
        Self {
            external: None,
            start: None,
            llm,
            pool_size: 48,
            seed_if_empty: false,
            extra_services: None,
        }
    }
}

/// An open session.
pub(crate) struct Session {
    nodes: Nodes,
    http: reqwest::Client,
    /// Its connection pool (schema migrated).
    pub pool: Pool,
    /// Who answers the stages.
    pub executor: Arc<Executor>,
    /// The LLM settings the executor was built from.
    pub llm: LlmConfig,
    server: BackgroundServer,
}

/// The handlers' endpoint, accepting only requests signed with `identity` when given.
pub(crate) fn handler_endpoint(
    identity: Option<&str>,
    app: Option<App>,
) -> Result<restate_sdk::prelude::Endpoint, AppError> {
    Ok(endpoint(identity, &Handlers { app })?)
}

/// Starts `cluster` (what is not running) and waits until it is ready, saying what happens.
pub(crate) async fn start(
    cluster: &Cluster,
    timeout: Duration,
    say: &mut (dyn FnMut(&str) + Send),
) -> Result<(), AppError> {
    say(&format!("starting {}", cluster.describe()));
    let probe = handler_endpoint(Some(&cluster.creds().request_identity_public_key), None)?;
    let report = cluster.start(probe, timeout, &mut *say).await?;
    if let Some(line) = report.describe() {
        say(&line);
    }
    Ok(())
}

impl Session {
    /// Opens everything a job needs; `say` gets progress lines.
    pub(crate) async fn open(
        config: &Config,
        opts: SessionOptions,
        say: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Self, AppError> {
        let nodes = match opts.external {
            Some(e) => Nodes::External(e),
            None => {
                let cluster = Cluster::open(&config.cluster, &config.tools).await?;
                if let Some(timeout) = opts.start {
                    start(&cluster, timeout, &mut *say).await?;
                }
                Nodes::Local(Box::new(cluster))
            }
        };
        let db = match (&config.database.url, &nodes) {
            (None, Nodes::Local(c)) => DatabaseTarget::from_pg_target(
                &c.pg_target(),
                Origin::Cluster {
                    name: c.spec().name.clone(),
                    state_dir: c.spec().state_dir.clone(),
                },
            ),
            _ => super::database(config)?,
        };
        let pool = crate::db::pool::connect(
            &db,
            &crate::db::pool::PoolOptions {
                max_size: opts.pool_size,
                ..Default::default()
            },
        )
        .await?;
        {
            let mut client = pool
                .get()
                .await
                .map_err(|e| AppError::Connection(e.to_string()))?;
            crate::db::migrate::run_embedded(&mut client).await?;
        }
        if opts.seed_if_empty
            && let Some(s) = crate::dataset::seed::seed_if_empty(&pool).await?
        {
            say(&format!(
                "the database had no indicators: loaded the bundled dataset, {} series (synthetic; see docs/DATA.md)",
                s.generated
            ));
        }
        let executor = Arc::new(Executor::from_config(&opts.llm, Some(pool.clone()))?);
        let (identity, addr) = match &nodes {
            Nodes::Local(c) => (
                Some(c.creds().request_identity_public_key.clone()),
                c.spec().handler_addr(),
            ),
            Nodes::External(e) => (None, external_handler_addr(&e.handler_url)),
        };
        let handlers = Handlers {
            app: Some(App::new(pool.clone(), executor.clone())),
        };
        let endpoint = match opts.extra_services {
            Some(extra) => endpoint_with(identity.as_deref(), &handlers, extra)?,
            None => endpoint(identity.as_deref(), &handlers)?,
        };
        let server = serve_unless_taken(addr, endpoint).await?;
        if !server.serves() {
            say(&format!(
                "handler port {} is already served (serve/all-in-one); using it",
                addr.port()
            ));
        }
        let session = Self {
            nodes,
            http: reqwest::Client::new(),
            pool,
            executor,
            llm: opts.llm,
            server,
        };
        session.register().await?;
        Ok(session)
    }

    /// Registers the handlers (with `force`) and checks that every admin API that answers
    /// lists them (a node that is down learns the registration when it rejoins).
    async fn register(&self) -> Result<(), AppError> {
        let deadline = Instant::now() + REGISTER_TIMEOUT;
        match &self.nodes {
            Nodes::Local(c) => {
                c.register(deadline).await?;
            }
            Nodes::External(e) => {
                health::register(&self.admins(), &e.handler_url, deadline)
                    .await
                    .map_err(|err| AppError::Register {
                        uri: e.handler_url.clone(),
                        detail: err.to_string(),
                    })?;
            }
        }
        Ok(())
    }

    /// Admin clients in node order.
    pub(crate) fn admins(&self) -> Vec<AdminClient> {
        match &self.nodes {
            Nodes::Local(c) => c.admins(),
            Nodes::External(e) => e
                .admin
                .iter()
                .map(|u| AdminClient::new(self.http.clone(), u.clone()))
                .collect(),
        }
    }

    /// Ingress clients by node name, in node order.
    pub(crate) fn ingresses(&self) -> Vec<(String, IngressClient)> {
        match &self.nodes {
            Nodes::Local(c) => c
                .spec()
                .nodes
                .iter()
                .map(|n| n.name.clone())
                .zip(c.ingresses())
                .collect(),
            Nodes::External(e) => e
                .ingress
                .iter()
                .enumerate()
                .map(|(i, u)| {
                    (
                        format!("node-{}", i + 1),
                        IngressClient::new(self.http.clone(), u.clone()),
                    )
                })
                .collect(),
        }
    }

    /// Stops the handler server (draining in-flight requests) and writes the last LLM call
    /// records.
    pub(crate) async fn close(self) -> Nodes {
        self.server.stop().await;
        self.executor.flush().await;
        self.nodes
    }
}

/// This process's handler address for an external cluster: 127.0.0.1 on the port of
/// `handler_url` (9080 when it names none).
fn external_handler_addr(handler_url: &str) -> SocketAddr {
    let port = url::Url::parse(handler_url)
        .ok()
        .and_then(|u| u.port())
        .unwrap_or(9080);
    SocketAddr::from(([127, 0, 0, 1], port))
}
