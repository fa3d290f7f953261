//! PostgreSQL from the machine's (Debian) binaries, with its data directory in the cluster's state
//! dir: `initdb` on first start, `postgres` bound to 127.0.0.1 only (no unix socket). When we run
//! as root the server runs as `postgres` (or `nobody`), since PostgreSQL refuses to run as root.

use super::process::Launch;
use crate::cluster::container_spec::POSTGRES_SETTINGS;
use crate::cluster::credentials::{Credentials, write_private};
use crate::cluster::error::ClusterError;
use crate::cluster::spec::ClusterSpec;
use crate::host::running_as_root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The unprivileged user the server runs as when we are root.
pub(crate) fn server_user() -> Option<String> {
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
pub(crate) fn data_dir(spec: &ClusterSpec) -> PathBuf {
    let dir = spec.dirs().postgres().join("data");
    std::path::absolute(&dir).unwrap_or(dir)
}

/// Creates the data directory with `initdb` if it does not exist yet.
pub fn ensure_initialized(
    spec: &ClusterSpec,
    creds: &Credentials,
    pg_bin: &Path,
) -> Result<(), ClusterError> {
    let data = data_dir(spec);
    let root = data
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data.clone());
    let io = |what: &'static str, p: &Path| {
        let path = p.display().to_string();
        move |source| ClusterError::Io { what, path, source }
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
            return Err(ClusterError::PgNotReachable {
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
        return Err(ClusterError::Initdb {
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

fn chown_tree(root: &Path, user: &str) -> Result<(), ClusterError> {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{user}:"))
        .arg(root)
        .status()
        .map_err(|source| ClusterError::Io {
            what: "chown",
            path: root.display().to_string(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(ClusterError::Io {
            what: "chown",
            path: root.display().to_string(),
            source: std::io::Error::other(format!("chown exited with {status}")),
        })
    }
}

/// Removes `postmaster.pid` when the postmaster it names is gone. A killed postmaster whose
/// parent has exited can linger as a zombie where PID 1 does not reap (containers), and
/// PostgreSQL takes a zombie's pid for a running server and refuses to start.
pub(crate) fn remove_stale_lock(data_dir: &Path) {
    let lock = data_dir.join("postmaster.pid");
    let Ok(text) = std::fs::read_to_string(&lock) else {
        return;
    };
    let pid = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<u32>().ok());
    if let Some(pid) = pid
        && !crate::host::is_alive(pid, "postgres")
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
        args: [
            "-D".to_string(),
            data.display().to_string(),
            "-p".into(),
            spec.database.port.to_string(),
        ]
        .into_iter()
        .chain(
            [
                format!("listen_addresses={}", spec.bind_host),
                "unix_socket_directories=".into(),
            ]
            .into_iter()
            .chain(POSTGRES_SETTINGS.iter().map(|s| s.to_string()))
            .flat_map(|setting| ["-c".to_string(), setting]),
        )
        .collect(),
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
