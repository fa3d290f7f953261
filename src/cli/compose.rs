//! `compose`: print the docker compose file for the cluster spec (`--nodes`, `--port-offset`,
//! `--partitions`, `--name` apply; a cluster recorded in the state dir does not, so the output
//! depends only on the settings given), optionally writing the matching `.env`.

use crate::cluster::compose;
use crate::cluster::credentials::Credentials;
use crate::cluster::spec::{ClusterSpec, Runtime};
use crate::config::Config;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `compose`.
#[derive(Debug, Clone, Args)]
pub struct ComposeArgs {
    /// Also write an env file for docker compose (mode 0600) with this cluster's generated
    /// credentials (created on first use, shared with `--runtime docker` and the handler server).
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
}

/// The spec the compose file describes: settings given, else defaults (3 nodes, seed ports).
pub(crate) fn spec(config: &Config) -> anyhow::Result<ClusterSpec> {
    Ok(config.cluster.spec(Runtime::Docker, None)?)
}

/// Prints the compose file; with `--env-file`, writes the env file too.
pub fn run(config: &Config, args: &ComposeArgs) -> anyhow::Result<()> {
    let spec = spec(config)?;
    print!("{}", compose::render(&spec));
    if let Some(path) = &args.env_file {
        let dirs = spec.dirs();
        let creds =
            Credentials::load(&dirs.credentials_file())?.unwrap_or_else(Credentials::generate);
        std::fs::create_dir_all(&dirs.root)?;
        creds.save_if_missing(&dirs.credentials_file())?;
        let key = dirs.config().join("request-identity.pem");
        compose::write_env_file(path, &creds, &key)?;
        eprintln!(
            "wrote {} (mode 0600) with the credentials of cluster {:?} ({})",
            path.display(),
            spec.name,
            dirs.credentials_file().display()
        );
    }
    Ok(())
}
