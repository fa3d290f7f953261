//! Which database a command uses: an external one named by `--database-url`
//! (`RESTATE_CLASSIFY_DATABASE_URL`, or `database.url` in the config file), else the cluster's own
//! PostgreSQL, found through the cluster's state dir. Every command that needs the database goes
//! through [`resolve`], so the rule lives in one place.
//!
//! URLs may carry a password: [`DatabaseUrl`] never shows it in `Debug`, and a
//! [`DatabaseTarget`] only ever shows [`DatabaseTarget::display_url`].

use crate::cluster::credentials::{Credentials, CredentialsError};
use crate::cluster::postgres::PgTarget;
use crate::config::{Config, ConfigError};
use serde::Deserialize;
use std::path::PathBuf;
use std::str::FromStr;
use tokio_postgres::config::Host;

/// Errors finding the database.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Neither an external URL nor a cluster with credentials.
    #[error(
        "no database: start the cluster with `restate-classify cluster start` or pass --database-url (no cluster credentials in {state_dir})"
    )]
    NoDatabase {
        /// The state dir that was looked at.
        state_dir: String,
    },
    /// The external URL does not parse (the URL itself is not repeated: it may hold a password).
    #[error(
        "--database-url (or RESTATE_CLASSIFY_DATABASE_URL / database.url) is not a usable PostgreSQL URL: {reason}"
    )]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The cluster description could not be built.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The cluster's credentials file is unreadable.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

/// A database URL as the user gave it. `Debug` is redacted: it may contain a password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL (`postgres://user:pw@host:port/db`) or a libpq key=value string.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }
}

impl FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    /// Never fails: validation happens in [`resolve`], whose errors do not echo the URL (clap's
    /// would, password included).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

/// Where a resolved database came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--database-url` or its environment variable / config key.
    External,
    /// The cluster's own PostgreSQL.
    Cluster {
        /// Cluster name.
        name: String,
        /// The cluster's state dir.
        state_dir: PathBuf,
    },
}

/// A database to connect to: connection settings plus a password-free URL for output.
#[derive(Clone)]
pub struct DatabaseTarget {
    pg: tokio_postgres::Config,
    display: String,
    origin: Origin,
}

impl std::fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl DatabaseTarget {
    /// An external database from a URL or key=value connection string.
    pub fn from_url(url: &DatabaseUrl) -> Result<Self, ResolveError> {
        let pg =
            tokio_postgres::Config::from_str(&url.0).map_err(|e| ResolveError::InvalidUrl {
                reason: e.to_string(),
            })?;
        if pg.get_hosts().is_empty() {
            return Err(ResolveError::InvalidUrl {
                reason: "it names no host".into(),
            });
        }
        if pg.get_user().is_none() {
            return Err(ResolveError::InvalidUrl {
                reason: "it names no user".into(),
            });
        }
        let display = display_url(&pg);
        Ok(Self {
            pg,
            display,
            origin: Origin::External,
        })
    }

    /// A cluster's database (also what tests get from `TestPostgres`).
    pub fn from_pg_target(target: &PgTarget, origin: Origin) -> Self {
        let mut pg = tokio_postgres::Config::new();
        pg.host(&target.host)
            .port(target.port)
            .user(&target.user)
            .password(&target.password)
            .dbname(&target.database);
        Self {
            pg,
            display: target.display_url(),
            origin,
        }
    }

    /// Connection settings (password included; `Debug` of this type redacts it).
    pub fn pg_config(&self) -> &tokio_postgres::Config {
        &self.pg
    }

    /// The URL without its password, for output.
    pub fn display_url(&self) -> &str {
        &self.display
    }

    /// Where this database came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// What to try when the database does not answer.
    pub fn unreachable_hint(&self) -> &'static str {
        match self.origin {
            Origin::External => "check --database-url and that the server accepts connections",
            Origin::Cluster { .. } => {
                "is the cluster running? Start it with `restate-classify cluster start`, or pass --database-url"
            }
        }
    }
}

/// `postgres://user@host:port/db` from parsed settings (never the password).
fn display_url(pg: &tokio_postgres::Config) -> String {
    let ports = pg.get_ports();
    let hosts: Vec<String> = pg
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let user = pg.get_user().unwrap_or_default();
    let db = pg.get_dbname().unwrap_or(user);
    format!("postgres://{user}@{}/{db}", hosts.join(","))
}

/// The database the configuration points at: the external URL when one is set, else the
/// cluster's own database (spec from [`Config::spec`], password from the cluster's
/// `credentials.json`). Fails with [`ResolveError::NoDatabase`] when there is neither.
pub fn resolve(config: &Config) -> Result<DatabaseTarget, ResolveError> {
    if let Some(url) = &config.database_url {
        return DatabaseTarget::from_url(url);
    }
    let state_dir = config.state_dir();
    let creds_file = state_dir.join("credentials.json");
    let Some(creds) = Credentials::load(&creds_file)? else {
        return Err(ResolveError::NoDatabase {
            state_dir: state_dir.display().to_string(),
        });
    };
    let spec = config.spec()?;
    let target = PgTarget::of_cluster(&spec, &creds);
    Ok(DatabaseTarget::from_pg_target(
        &target,
        Origin::Cluster {
            name: spec.name.clone(),
            state_dir: spec.state_dir.clone(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ClusterOverrides, ClusterSection, DatabaseSection, FileConfig};

    fn config_with(state_dir: PathBuf, url: Option<&str>) -> Config {
        let overrides = ClusterOverrides {
            cluster: ClusterSection {
                state_dir: Some(state_dir),
                ..Default::default()
            },
            database: DatabaseSection {
                url: url.map(DatabaseUrl::new),
            },
            ..Default::default()
        };
        Config::layer(&FileConfig::default(), &overrides)
    }

    #[test]
    fn external_url_wins_and_hides_its_password() {
        let dir = tempfile::tempdir().unwrap();
        let url = "postgres://alice:s3cret-pw@db.example:6543/metrics";
        let t = resolve(&config_with(dir.path().into(), Some(url))).unwrap();
        assert_eq!(t.display_url(), "postgres://alice@db.example:6543/metrics");
        assert_eq!(t.origin(), &Origin::External);
        assert!(!format!("{t:?}").contains("s3cret"));
        assert!(!format!("{:?}", DatabaseUrl::new(url)).contains("s3cret"));
        assert_eq!(t.pg_config().get_password(), Some(&b"s3cret-pw"[..]));
    }

    #[test]
    fn the_config_file_can_name_the_database_and_flags_override_it() {
        let file = FileConfig::parse(
            "database:\n  url: postgres://file:pw@file-host/db\n",
            std::path::Path::new("t.yaml"),
        )
        .unwrap();
        let from_file = Config::layer(&file, &ClusterOverrides::default());
        assert_eq!(
            resolve(&from_file).unwrap().display_url(),
            "postgres://file@file-host:5432/db"
        );
        let overrides = ClusterOverrides {
            database: DatabaseSection {
                url: Some(DatabaseUrl::new("postgres://flag@flag-host:1/x")),
            },
            ..Default::default()
        };
        let from_flag = Config::layer(&file, &overrides);
        assert_eq!(
            resolve(&from_flag).unwrap().display_url(),
            "postgres://flag@flag-host:1/x"
        );
        assert!(!format!("{from_file:?}").contains("pw"));
    }

    #[test]
    fn bad_url_error_does_not_echo_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let url = "postgres://alice:s3cret-pw@db.example:notaport/metrics";
        let err = resolve(&config_with(dir.path().into(), Some(url)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a usable PostgreSQL URL"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn no_url_and_no_cluster_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve(&config_with(dir.path().join("none"), None))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("no database: start the cluster with `restate-classify cluster start` or pass --database-url"),
            "{err}"
        );
    }

    #[test]
    fn cluster_database_comes_from_spec_and_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let creds = Credentials::load_or_create(&dir.path().join("credentials.json")).unwrap();
        let t = resolve(&config_with(dir.path().into(), None)).unwrap();
        assert_eq!(
            t.display_url(),
            "postgres://classify@127.0.0.1:5432/classify"
        );
        assert!(matches!(t.origin(), Origin::Cluster { .. }));
        assert_eq!(
            t.pg_config().get_password(),
            Some(creds.postgres_password.as_bytes())
        );
        assert!(!format!("{t:?}").contains(&creds.postgres_password));
    }
}
