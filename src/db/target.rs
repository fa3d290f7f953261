//! The database a command connects to: an external one named by `--database-url`
//! (`RESTATE_CLASSIFY_DATABASE_URL`, or `database.url` in the config file), or a cluster's own
//! (the application layer decides which, in one place: `app::database`).
//!
//! URLs may carry a password: [`DatabaseUrl`] never shows it in `Debug`, and a
//! [`DatabaseTarget`] only ever shows [`DatabaseTarget::display_url`].

use super::server::PgTarget;
use serde::Deserialize;
use std::path::PathBuf;
use std::str::FromStr;
use tokio_postgres::config::Host;

settings_section! {
    /// The `database:` section and its flag.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, clap::Args)]
    #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
    pub struct DatabaseSettings {
        /// External PostgreSQL (postgres://user:password@host:port/db) instead of the cluster's
        /// own database. Never printed.
        #[arg(
            long = "database-url",
            global = true,
            env = "RESTATE_CLASSIFY_DATABASE_URL",
            hide_env_values = true,
            value_name = "URL"
        )]
        pub url: Option<DatabaseUrl>,
    }
}

/// Errors finding the database.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The external URL does not parse (the URL itself is not repeated: it may hold a password).
    #[error(
        "--database-url (or RESTATE_CLASSIFY_DATABASE_URL / database.url) is not a usable PostgreSQL URL: {reason}"
    )]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
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
    pub(crate) fn pg_config(&self) -> &tokio_postgres::Config {
        &self.pg
    }

    /// The URL without its password, for output.
    pub(crate) fn display_url(&self) -> &str {
        &self.display
    }

    /// Where this database came from.
    #[cfg(test)]
    pub(crate) fn origin(&self) -> &Origin {
        &self.origin
    }

    /// What to try when the database does not answer.
    pub(crate) fn unreachable_hint(&self) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_external_url_hides_its_password() {
        let url = "postgres://alice:s3cret-pw@db.example:6543/metrics";
        let t = DatabaseTarget::from_url(&DatabaseUrl::new(url)).unwrap();
        assert_eq!(t.display_url(), "postgres://alice@db.example:6543/metrics");
        assert_eq!(t.origin(), &Origin::External);
        assert!(!format!("{t:?}").contains("s3cret"));
        assert!(!format!("{:?}", DatabaseUrl::new(url)).contains("s3cret"));
        assert_eq!(t.pg_config().get_password(), Some(&b"s3cret-pw"[..]));
    }

    #[test]
    fn bad_url_error_does_not_echo_the_url() {
        let url = "postgres://alice:s3cret-pw@db.example:notaport/metrics";
        let err = DatabaseTarget::from_url(&DatabaseUrl::new(url))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a usable PostgreSQL URL"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
