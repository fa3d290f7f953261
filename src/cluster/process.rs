//! Child processes of the native runtime: spawned detached (own process group, so a Ctrl-C in the
//! terminal does not reach them), tracked by pid, checked against `/proc` so a recycled pid is
//! never mistaken for ours.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Errors starting or stopping a process.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program could not be started.
    #[error("could not start {program}: {source}")]
    Spawn {
        /// The program path.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The log file could not be opened.
    #[error("could not open log file {path}: {source}")]
    Log {
        /// The log path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A signal could not be sent.
    #[error("could not signal pid {pid}: {source}")]
    Signal {
        /// The pid.
        pid: u32,
        /// Why.
        source: nix::Error,
    },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Program path.
    pub program: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Where stdout and stderr go (appended).
    pub log: PathBuf,
    /// Run as this user (we must be root to switch).
    pub run_as: Option<String>,
}

/// Starts `launch` detached from our process group; returns its pid. A background thread reaps the
/// child if it exits while we are still running, so it never lingers as a zombie.
pub fn spawn_detached(launch: &Launch) -> Result<u32, ProcessError> {
    if let Some(parent) = launch.log.parent() {
        std::fs::create_dir_all(parent).map_err(|source| ProcessError::Log {
            path: launch.log.display().to_string(),
            source,
        })?;
    }
    let open_log = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&launch.log)
            .map_err(|source| ProcessError::Log {
                path: launch.log.display().to_string(),
                source,
            })
    };
    let (out, err) = (open_log()?, open_log()?);
    let mut cmd = Command::new(&launch.program);
    if let Some(user) = &launch.run_as {
        // Switch user in the child itself (not through a `runuser` wrapper) so that the pid we
        // record is the server's own and signals reach it. std drops supplementary groups.
        let u = nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .ok_or_else(|| ProcessError::Spawn {
                program: launch.program.display().to_string(),
                source: std::io::Error::other(format!("user {user} does not exist")),
            })?;
        cmd.uid(u.uid.as_raw())
            .gid(u.gid.as_raw())
            .env("HOME", &u.dir);
    }
    cmd.args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    if let Some(cwd) = &launch.cwd {
        cmd.current_dir(cwd);
    }
    let mut child = cmd.spawn().map_err(|source| ProcessError::Spawn {
        program: launch.program.display().to_string(),
        source,
    })?;
    let pid = child.id();
    std::thread::Builder::new()
        .name(format!("reap-{pid}"))
        .spawn(move || {
            let _ = child.wait();
        })
        .map_err(|source| ProcessError::Spawn {
            program: "reaper thread".into(),
            source,
        })?;
    Ok(pid)
}

/// Whether `pid` is a live (not zombie) process whose command line mentions `expect`.
pub fn is_alive(pid: u32, expect: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state field follows the parenthesised command name.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z") | Some("X") | None) {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(expect))
        .unwrap_or(false)
}

/// Sends `signal`, waits up to `grace` for exit, then kills. Returns whether it had to kill.
pub fn terminate(
    pid: u32,
    expect: &str,
    signal: Signal,
    grace: Duration,
) -> Result<bool, ProcessError> {
    if !is_alive(pid, expect) {
        return Ok(false);
    }
    let p = Pid::from_raw(pid as i32);
    match kill(p, signal) {
        Ok(()) | Err(nix::Error::ESRCH) => {}
        Err(source) => return Err(ProcessError::Signal { pid, source }),
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !is_alive(pid, expect) {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    match kill(p, Signal::SIGKILL) {
        Ok(()) | Err(nix::Error::ESRCH) => {}
        Err(source) => return Err(ProcessError::Signal { pid, source }),
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && is_alive(pid, expect) {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(true)
}

/// Sends SIGKILL at once (used by fault-injection tests and `clean`).
pub fn kill_now(pid: u32, expect: &str) -> Result<(), ProcessError> {
    terminate(pid, expect, Signal::SIGKILL, Duration::from_secs(5)).map(|_| ())
}

/// Whether a TCP port on 127.0.0.1 can be bound right now.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Who listens on `port` (any address), as "pid N (command)", if it can be found in `/proc`.
pub fn port_owner(port: u16) -> Option<String> {
    let inode = listening_inode(port)?;
    let needle = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == needle) {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                return Some(format!("pid {pid} ({})", comm.trim()));
            }
        }
    }
    None
}

fn listening_inode(port: u16) -> Option<String> {
    const LISTEN: &str = "0A";
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != LISTEN {
                continue;
            }
            let local_port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                return Some(cols[9].to_string());
            }
        }
    }
    None
}

/// Whether we run as root (then servers that refuse root run as an unprivileged user).
pub fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Reads the last `lines` lines of a log file (whole file if shorter).
pub fn tail(path: &Path, lines: usize) -> std::io::Result<String> {
    let text = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&text);
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    Ok(all[start..].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawned_process_is_tracked_and_terminated() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        let pid = spawn_detached(&Launch {
            program: "sleep".into(),
            args: vec!["300".into()],
            env: vec![],
            cwd: None,
            log: log.clone(),
            run_as: None,
        })
        .unwrap();
        // Under load the child may not have exec'd yet when spawn returns: wait (bounded) until
        // /proc shows it as `sleep`.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !is_alive(pid, "sleep") && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(is_alive(pid, "sleep"));
        assert!(!is_alive(pid, "definitely-not-this-program"));
        let killed = terminate(pid, "sleep", Signal::SIGTERM, Duration::from_secs(5)).unwrap();
        assert!(!killed, "sleep exits on SIGTERM without a kill");
        assert!(!is_alive(pid, "sleep"));
    }

    #[test]
    fn port_owner_finds_our_own_listener() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!port_is_free(port));
        let owner = port_owner(port).expect("owner of our own socket");
        assert!(owner.contains(&std::process::id().to_string()), "{owner}");
        drop(l);
        assert!(port_is_free(port));
    }
}
