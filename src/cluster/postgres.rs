//! PostgreSQL from the machine's (Debian) binaries, with its data directory in the cluster's state
//! dir: `initdb` on first start, `postgres` bound to 127.0.0.1 only (no unix socket), database
//! `classify` created on first start. When we run as root the server runs as `postgres` (or
//! `nobody`), since PostgreSQL refuses to run as root.

use super::credentials::{Credentials, write_private};
use super::process::{Launch, running_as_root};
use super::spec::ClusterSpec;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Errors preparing or reaching PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// `initdb` failed.
    #[error("initdb failed for {data_dir}: {output}")]
    Initdb {
        /// Data dir.
        data_dir: String,
        /// What it printed.
        output: String,
    },
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The unprivileged user cannot reach the data dir.
    #[error(
        "PostgreSQL must run as user {user} (we are root), but {user} cannot write {path}: a parent directory is not traversable. Use --state-dir under a world-traversable directory (e.g. /var/tmp) or run as a normal user"
    )]
    NotReachable {
        /// The user.
        user: String,
        /// The dir.
        path: String,
    },
    /// Connecting or querying failed.
    #[error("PostgreSQL at 127.0.0.1:{port}: {source}")]
    Query {
        /// The port.
        port: u16,
        /// Why.
        source: tokio_postgres::Error,
    },
    /// It did not accept connections in time.
    #[error(
        "PostgreSQL on port {port} did not accept connections within {secs}s; see its log at {log}"
    )]
    Timeout {
        /// The port.
        port: u16,
        /// Seconds waited.
        secs: u64,
        /// Log file.
        log: String,
    },
}

/// Connection parameters of the cluster's database.
#[derive(Clone, PartialEq, Eq)]
pub struct PgTarget {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Role.
    pub user: String,
    /// Password.
    pub password: String,
    /// Database.
    pub database: String,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display_url())
    }
}

impl PgTarget {
    /// The cluster's own database.
    pub fn of_cluster(spec: &ClusterSpec, creds: &Credentials) -> Self {
        Self {
            host: spec.bind_host.clone(),
            port: spec.database.port,
            user: spec.database.user.clone(),
            password: creds.postgres_password.clone(),
            database: spec.database.database.clone(),
        }
    }

    /// Full connection URL, password included: only ever handed to a client, never printed.
    pub fn url(&self) -> String {
        format!(
            "postgres://{}:{}@{}:{}/{}",
            self.user, self.password, self.host, self.port, self.database
        )
    }

    /// URL without the password, for output.
    pub fn display_url(&self) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }

    fn config(&self, database: &str) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host(&self.host)
            .port(self.port)
            .user(&self.user)
            .password(&self.password)
            .dbname(database)
            .connect_timeout(Duration::from_secs(3));
        c
    }

    /// Connects to `database` and runs `SELECT 1`.
    pub async fn ping(&self, database: &str) -> Result<(), PostgresError> {
        let (client, conn) = self
            .config(database)
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|source| PostgresError::Query {
                port: self.port,
                source,
            })?;
        let task = tokio::spawn(conn);
        let r = client.simple_query("SELECT 1").await;
        drop(client);
        let _ = task.await;
        r.map(|_| ()).map_err(|source| PostgresError::Query {
            port: self.port,
            source,
        })
    }

    /// Waits until the server accepts our login, then creates our database if it is missing.
    pub async fn wait_and_create_database(
        &self,
        timeout: Duration,
        log: &Path,
    ) -> Result<(), PostgresError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.ping("postgres").await {
                Ok(()) => break,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                Err(_) => {
                    return Err(PostgresError::Timeout {
                        port: self.port,
                        secs: timeout.as_secs(),
                        log: log.display().to_string(),
                    });
                }
            }
        }
        let (client, conn) = self
            .config("postgres")
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|source| PostgresError::Query {
                port: self.port,
                source,
            })?;
        let task = tokio::spawn(conn);
        let exists = client
            .query_opt(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                &[&self.database],
            )
            .await
            .map_err(|source| PostgresError::Query {
                port: self.port,
                source,
            })?
            .is_some();
        if !exists {
            // Identifiers cannot be bound as parameters; the name is validated to [a-z0-9_].
            let name = sanitize_ident(&self.database);
            client
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .await
                .map_err(|source| PostgresError::Query {
                    port: self.port,
                    source,
                })?;
        }
        drop(client);
        let _ = task.await;
        Ok(())
    }
}

fn sanitize_ident(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// The unprivileged user the server runs as when we are root.
pub fn server_user() -> Option<String> {
    if !running_as_root() {
        return None;
    }
    for candidate in ["postgres", "nobody"] {
        if nix::unistd::User::from_name(candidate)
            .ok()
            .flatten()
            .is_some()
        {
            return Some(candidate.to_string());
        }
    }
    None
}

/// The data directory of a cluster's PostgreSQL.
pub fn data_dir(spec: &ClusterSpec) -> PathBuf {
    let dir = spec.dirs().postgres().join("data");
    std::path::absolute(&dir).unwrap_or(dir)
}

/// Creates the data directory with `initdb` if it does not exist yet.
pub fn ensure_initialized(
    spec: &ClusterSpec,
    creds: &Credentials,
    pg_bin: &Path,
) -> Result<(), PostgresError> {
    let data = data_dir(spec);
    let root = data
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data.clone());
    let io = |what: &'static str, p: &Path| {
        let path = p.display().to_string();
        move |source| PostgresError::Io { what, path, source }
    };
    std::fs::create_dir_all(&root).map_err(io("creating", &root))?;
    let user = server_user();
    if let Some(u) = &user {
        chown_tree(&root, u)?;
        let ok = Command::new("runuser")
            .args(["-u", u, "--", "test", "-w"])
            .arg(&root)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(PostgresError::NotReachable {
                user: u.clone(),
                path: root.display().to_string(),
            });
        }
    }
    if data.join("PG_VERSION").exists() {
        return Ok(());
    }
    let pwfile = root.join(".initdb-pw");
    write_private(&pwfile, creds.postgres_password.as_bytes()).map_err(io("writing", &pwfile))?;
    if let Some(u) = &user {
        chown_tree(&root, u)?;
    }
    let initdb = pg_bin.join("initdb");
    let mut cmd = match &user {
        Some(u) => {
            let mut c = Command::new("runuser");
            c.args(["-u", u, "--"]).arg(&initdb);
            c
        }
        None => Command::new(&initdb),
    };
    let out = cmd
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            &spec.database.user,
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-instructions",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .output()
        .map_err(io("running", &initdb));
    let _ = std::fs::remove_file(&pwfile);
    let out = out?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&data);
        return Err(PostgresError::Initdb {
            data_dir: data.display().to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(())
}

fn chown_tree(root: &Path, user: &str) -> Result<(), PostgresError> {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{user}:"))
        .arg(root)
        .status()
        .map_err(|source| PostgresError::Io {
            what: "chown",
            path: root.display().to_string(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(PostgresError::Io {
            what: "chown",
            path: root.display().to_string(),
            source: std::io::Error::other(format!("chown exited with {status}")),
        })
    }
}

/// Removes `postmaster.pid` when the postmaster it names is gone. A killed postmaster whose
/// parent has exited can linger as a zombie where PID 1 does not reap (containers), and
/// PostgreSQL takes a zombie's pid for a running server and refuses to start.
pub fn remove_stale_lock(data_dir: &Path) {
    let lock = data_dir.join("postmaster.pid");
    let Ok(text) = std::fs::read_to_string(&lock) else {
        return;
    };
    let pid = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<u32>().ok());
    if let Some(pid) = pid
        && !super::process::is_alive(pid, "postgres")
    {
        tracing::warn!(
            pid,
            "removing the lock file of a PostgreSQL server that is gone"
        );
        let _ = std::fs::remove_file(&lock);
    }
}

/// The `postgres` server process: TCP on 127.0.0.1 only, no unix socket, durable commits.
pub fn launch(spec: &ClusterSpec, pg_bin: &Path, log: PathBuf) -> Launch {
    let data = data_dir(spec);
    Launch {
        program: pg_bin.join("postgres"),
        args: vec![
            "-D".into(),
            data.display().to_string(),
            "-p".into(),
            spec.database.port.to_string(),
            "-c".into(),
            format!("listen_addresses={}", spec.bind_host),
            "-c".into(),
            "unix_socket_directories=".into(),
            "-c".into(),
            "max_connections=200".into(),
            "-c".into(),
            "shared_buffers=256MB".into(),
            "-c".into(),
            "log_min_messages=warning".into(),
        ],
        env: vec![],
        cwd: data.parent().map(Path::to_path_buf),
        log,
        run_as: server_user(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::spec::SpecOptions;

    #[test]
    fn display_url_has_no_password() {
        let spec = ClusterSpec::new(&SpecOptions::default()).unwrap();
        let creds = Credentials::generate();
        let t = PgTarget::of_cluster(&spec, &creds);
        assert!(t.url().contains(&creds.postgres_password));
        assert!(!t.display_url().contains(&creds.postgres_password));
        assert!(!format!("{t:?}").contains(&creds.postgres_password));
        assert_eq!(
            t.display_url(),
            "postgres://classify@127.0.0.1:5432/classify"
        );
    }

    #[test]
    fn server_listens_on_loopback_only_without_socket() {
        let spec = ClusterSpec::new(&SpecOptions::default()).unwrap();
        let l = launch(
            &spec,
            Path::new("/usr/lib/postgresql/15/bin"),
            "/tmp/x.log".into(),
        );
        assert!(l.args.contains(&"listen_addresses=127.0.0.1".to_string()));
        assert!(l.args.contains(&"unix_socket_directories=".to_string()));
    }
}
