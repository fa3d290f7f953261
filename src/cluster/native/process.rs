//! Child processes of the native runtime: spawned detached (own process group, so a Ctrl-C in the
//! terminal does not reach them), tracked by pid, checked against `/proc` so a recycled pid is
//! never mistaken for ours.

use crate::host::is_alive;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
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
pub(crate) fn kill_now(pid: u32, expect: &str) -> Result<(), ProcessError> {
    terminate(pid, expect, Signal::SIGKILL, Duration::from_secs(5)).map(|_| ())
}

/// SIGKILLs a component's whole process group (it leads one: spawned with its own group), as a
/// machine crash would: a server's worker processes die with it.
pub fn kill_group(pid: u32, expect: &str) -> Result<(), ProcessError> {
    if !is_alive(pid, expect) {
        return Ok(());
    }
    match nix::sys::signal::killpg(Pid::from_raw(pid as i32), Signal::SIGKILL) {
        Ok(()) | Err(nix::Error::ESRCH) => {}
        Err(source) => return Err(ProcessError::Signal { pid, source }),
    }
    kill_now(pid, expect)
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
}
