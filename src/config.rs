//! One typed configuration from defaults < YAML file < environment < flags.
//!
//! The YAML file is `--config FILE` (or `RESTATE_CLASSIFY_CONFIG`), else `restate-classify.yaml`
//! in the current directory when it exists. Environment variables and flags are both handled by
//! clap (every flag names its variable in `--help`); they override the file field by field.

use crate::cluster::spec::{ClusterSpec, Runtime, SpecError, SpecOptions, default_state_dir};
use crate::cluster::state::{ClusterState, StateError};
use crate::db::target::DatabaseUrl;
use crate::tools::ToolOptions;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Default config file looked up in the current directory.
pub const DEFAULT_CONFIG_FILE: &str = "restate-classify.yaml";

/// Errors loading configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid YAML for our schema.
    #[error("config file {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The YAML error (with line and column).
        source: serde_yaml::Error,
    },
    /// The resulting cluster description is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The state file could not be read.
    #[error(transparent)]
    State(#[from] StateError),
}

/// The `cluster:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterSection {
    /// Cluster name.
    pub name: Option<String>,
    /// Number of Restate nodes.
    pub nodes: Option<u32>,
    /// Offset added to every seed port.
    pub port_offset: Option<u32>,
    /// Partitions to provision.
    pub partitions: Option<u16>,
    /// The cluster's state dir.
    pub state_dir: Option<PathBuf>,
    /// Runtime.
    pub runtime: Option<Runtime>,
    /// Address the handler server binds (docker runtime: one containers reach).
    pub handler_bind: Option<String>,
}

/// The `tools:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ToolsSection {
    /// Project-local tools dir.
    pub dir: Option<PathBuf>,
    /// `restate-server` path.
    pub restate_server: Option<PathBuf>,
    /// `restatectl` path.
    pub restatectl: Option<PathBuf>,
    /// `weed` path.
    pub weed: Option<PathBuf>,
    /// Directory with `initdb` and `postgres`.
    pub pg_bin_dir: Option<PathBuf>,
}

/// The `database:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct DatabaseSection {
    /// An external PostgreSQL (URL or key=value string); without it the cluster's own database
    /// is used. May hold a password: it is never printed.
    pub url: Option<DatabaseUrl>,
}

/// The YAML file's schema.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// Cluster shape and location.
    pub cluster: ClusterSection,
    /// Where external programs are.
    pub tools: ToolsSection,
    /// Which database to use.
    pub database: DatabaseSection,
    /// LLM providers, budgets, cache and prices (see `llm::config`).
    pub llm: crate::llm::LlmSection,
}

impl FileConfig {
    /// Loads `explicit`, else `restate-classify.yaml` if present, else defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => PathBuf::from(DEFAULT_CONFIG_FILE),
            None => return Ok(Self::default()),
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path)
    }

    /// Parses YAML text (`path` is only used in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Cluster and tool settings after layering (flags/env already merged by clap into `cli`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterOverrides {
    /// From flags/env.
    pub cluster: ClusterSection,
    /// From flags/env.
    pub tools: ToolsSection,
    /// From flags/env.
    pub database: DatabaseSection,
}

/// The resolved configuration the commands use.
#[derive(Debug, Clone)]
pub struct Config {
    /// Cluster shape (not yet checked against an existing state dir).
    pub cluster: ClusterSection,
    /// Tool locations.
    pub tools: ToolOptions,
    /// Runtime.
    pub runtime: Runtime,
    /// External database, if any (else the cluster's own; see [`crate::db::target::resolve`]).
    pub database_url: Option<DatabaseUrl>,
    /// The file's `llm:` section; commands layer their `LlmArgs` over it
    /// (`LlmArgs::config(&config.llm)`).
    pub llm: crate::llm::LlmSection,
}

fn pick<T: Clone>(flag: &Option<T>, file: &Option<T>) -> Option<T> {
    flag.clone().or_else(|| file.clone())
}

impl Config {
    /// Layers `overrides` (flags/env) over `file` over defaults.
    pub fn layer(file: &FileConfig, overrides: &ClusterOverrides) -> Self {
        let (c, f) = (&overrides.cluster, &file.cluster);
        let cluster = ClusterSection {
            name: pick(&c.name, &f.name),
            nodes: pick(&c.nodes, &f.nodes),
            port_offset: pick(&c.port_offset, &f.port_offset),
            partitions: pick(&c.partitions, &f.partitions),
            state_dir: pick(&c.state_dir, &f.state_dir),
            runtime: pick(&c.runtime, &f.runtime),
            handler_bind: pick(&c.handler_bind, &f.handler_bind),
        };
        let (t, ft) = (&overrides.tools, &file.tools);
        let tools = ToolOptions {
            tools_dir: pick(&t.dir, &ft.dir).unwrap_or_else(|| PathBuf::from(".tools")),
            restate_server: pick(&t.restate_server, &ft.restate_server),
            restatectl: pick(&t.restatectl, &ft.restatectl),
            weed: pick(&t.weed, &ft.weed),
            pg_bin_dir: pick(&t.pg_bin_dir, &ft.pg_bin_dir),
        };
        let runtime = cluster.runtime.unwrap_or(Runtime::Native);
        let database_url = pick(&overrides.database.url, &file.database.url);
        Self {
            cluster,
            tools,
            runtime,
            database_url,
            llm: file.llm.clone(),
        }
    }

    /// The cluster's state dir.
    pub fn state_dir(&self) -> PathBuf {
        self.cluster
            .state_dir
            .clone()
            .unwrap_or_else(|| default_state_dir(self.cluster.name.as_deref().unwrap_or("local")))
    }

    /// The cluster description for the configured runtime (`auto` counts as native here; use
    /// [`crate::cluster::runtime::ClusterRuntime::open`] to resolve it against the machine).
    pub fn spec(&self) -> Result<ClusterSpec, ConfigError> {
        self.spec_for(match self.runtime {
            Runtime::Auto => Runtime::Native,
            r => r,
        })
    }

    /// The cluster description for `runtime`: the one recorded in the state dir when there is
    /// one (settings given explicitly must then agree with it), else built from settings and
    /// defaults.
    pub fn spec_for(&self, runtime: Runtime) -> Result<ClusterSpec, ConfigError> {
        let state_dir = self.state_dir();
        let recorded = ClusterState::load(&state_dir.join("cluster.json"))?.map(|s| s.spec);
        let defaults = SpecOptions::default();
        let base = recorded.as_ref();
        let opts = SpecOptions {
            name: self
                .cluster
                .name
                .clone()
                .or_else(|| base.map(|s| s.name.clone()))
                .unwrap_or(defaults.name),
            state_dir: Some(state_dir),
            nodes: self
                .cluster
                .nodes
                .or(base.map(|s| s.nodes.len() as u32))
                .unwrap_or(defaults.nodes),
            port_offset: self
                .cluster
                .port_offset
                .or(base.map(|s| s.port_offset))
                .unwrap_or(defaults.port_offset),
            partitions: self
                .cluster
                .partitions
                .or(base.map(|s| s.partitions))
                .unwrap_or(defaults.partitions),
            runtime,
            handler_bind: self.cluster.handler_bind.clone(),
        };
        Ok(ClusterSpec::new(&opts)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let file = FileConfig::parse(
            "cluster:\n  nodes: 5\n  port-offset: 100\ntools:\n  dir: /opt/tools\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        let overrides = ClusterOverrides {
            cluster: ClusterSection {
                nodes: Some(2),
                ..Default::default()
            },
            ..Default::default()
        };
        let c = Config::layer(&file, &overrides);
        assert_eq!(c.cluster.nodes, Some(2));
        assert_eq!(c.cluster.port_offset, Some(100));
        assert_eq!(c.tools.tools_dir, PathBuf::from("/opt/tools"));
        let none = Config::layer(&FileConfig::default(), &ClusterOverrides::default());
        assert_eq!(none.tools.tools_dir, PathBuf::from(".tools"));
        assert_eq!(none.state_dir(), PathBuf::from(".restate-classify/local"));
    }

    #[test]
    fn runtime_and_handler_bind_come_from_the_file() {
        let file = FileConfig::parse(
            "cluster:\n  runtime: docker\n  handler-bind: 172.17.0.1\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        let c = Config::layer(&file, &ClusterOverrides::default());
        assert_eq!(c.runtime, Runtime::Docker);
        let spec = c.spec().unwrap();
        assert_eq!(spec.runtime, Runtime::Docker);
        assert_eq!(spec.handler_bind_host(), "172.17.0.1");
        assert_eq!(spec.handler_url(), "http://host.docker.internal:9080");
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_file_and_line() {
        let err = FileConfig::parse("cluster:\n  nodez: 3\n", Path::new("my.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("my.yaml") && err.contains("nodez") && err.contains("line 2"),
            "{err}"
        );
    }

    #[test]
    fn recorded_spec_is_used_when_no_shape_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("c");
        let spec = ClusterSpec::new(&SpecOptions {
            nodes: 2,
            port_offset: 55,
            state_dir: Some(state_dir.clone()),
            ..SpecOptions::default()
        })
        .unwrap();
        std::fs::create_dir_all(&state_dir).unwrap();
        ClusterState {
            runtime: Runtime::Native,
            spec: spec.clone(),
            components: Default::default(),
        }
        .save(&state_dir.join("cluster.json"))
        .unwrap();
        let overrides = ClusterOverrides {
            cluster: ClusterSection {
                state_dir: Some(state_dir),
                ..Default::default()
            },
            ..Default::default()
        };
        let got = Config::layer(&FileConfig::default(), &overrides)
            .spec()
            .unwrap();
        assert_eq!(got, spec);
    }
}
