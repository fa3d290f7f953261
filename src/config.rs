//! One typed configuration: defaults < YAML file < environment < flags, merged once.
//!
//! Each section is declared once (`cluster::settings::ClusterSettings`, `tools::ToolSettings`,
//! `db::target::DatabaseSettings`, `llm::config::LlmSettings`): clap fills it from flags and
//! their `RESTATE_CLASSIFY_*` variables, serde from the file, and `over` layers them field by
//! field. The `conventions:` section (a house's overrides of the labelling conventions table,
//! `pipeline::conventions::ConventionsOverrides`) exists only in the file: it is data, not a
//! flag. The YAML file is `--config FILE` (or `RESTATE_CLASSIFY_CONFIG`), else
//! `restate-classify.yaml` in the current directory when it exists. Reconciling the cluster
//! settings with a cluster's recorded spec is the cluster's business, when it is opened.

use crate::cluster::settings::ClusterSettings;
use crate::db::target::DatabaseSettings;
use crate::llm::config::{LlmConfig, LlmConfigError, LlmSettings};
use crate::pipeline::conventions::{Conventions, ConventionsError, ConventionsOverrides};
use crate::tools::ToolSettings;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Default config file looked up in the current directory.
pub(crate) const DEFAULT_CONFIG_FILE: &str = "restate-classify.yaml";

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
}

/// The YAML file's schema: one section per concern.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// Cluster shape, location, runtime and images.
    pub cluster: ClusterSettings,
    /// Where external programs are.
    pub tools: ToolSettings,
    /// Which database to use.
    pub database: DatabaseSettings,
    /// LLM providers, budgets, cache and prices.
    pub llm: LlmSettings,
    /// Overrides of the labelling conventions table (`restate-classify conventions` prints the
    /// effective one).
    pub conventions: ConventionsOverrides,
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
    pub(crate) fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        })
    }
}

/// The merged configuration the commands use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// Cluster settings (reconciled with a recorded cluster when it is opened).
    pub cluster: ClusterSettings,
    /// Tool locations.
    pub tools: ToolSettings,
    /// External database, if any (else the cluster's own; see `app::database`).
    pub database: DatabaseSettings,
    /// LLM settings (resolved, keys included, by [`Config::llm`]).
    pub llm: LlmSettings,
    /// The house's overrides of the conventions table (from the file only).
    pub conventions: ConventionsOverrides,
}

impl Config {
    /// `flags` (flags and environment, as clap parsed them) over `file` over defaults.
    pub(crate) fn layer(file: FileConfig, flags: Config) -> Self {
        Self {
            cluster: flags.cluster.over(file.cluster),
            tools: flags.tools.over(file.tools),
            database: flags.database.over(file.database),
            llm: flags.llm.over(file.llm),
            conventions: file.conventions,
        }
    }

    /// The effective conventions table: the built-in one with the file's overrides.
    pub(crate) fn conventions(&self) -> Result<Conventions, ConventionsError> {
        Conventions::builtin().with_overrides(&self.conventions)
    }

    /// The resolved LLM configuration, API keys from the process environment.
    pub(crate) fn llm(&self) -> Result<LlmConfig, LlmConfigError> {
        LlmConfig::resolve(&self.llm, &|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::settings::RuntimeChoice;

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let file = FileConfig::parse(
            "cluster:\n  nodes: 5\n  port-offset: 100\ntools:\n  dir: /opt/tools\ndatabase:\n  url: postgres://f:pw@h/db\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        let flags = Config {
            cluster: ClusterSettings {
                nodes: Some(2),
                ..Default::default()
            },
            ..Default::default()
        };
        let c = Config::layer(file, flags);
        assert_eq!(c.cluster.nodes, Some(2));
        assert_eq!(c.cluster.port_offset, Some(100));
        assert_eq!(c.tools.tools_dir(), PathBuf::from("/opt/tools"));
        assert!(c.database.url.is_some());
        assert!(!format!("{c:?}").contains("pw@"), "{c:?}");
        let none = Config::layer(FileConfig::default(), Config::default());
        assert_eq!(none.tools.tools_dir(), PathBuf::from(".tools"));
        assert_eq!(
            none.cluster.state_dir(),
            PathBuf::from(".restate-classify/local")
        );
    }

    #[test]
    fn runtime_handler_bind_and_images_come_from_the_file() {
        let file = FileConfig::parse(
            "cluster:\n  runtime: docker\n  handler-bind: 172.17.0.1\n  restate-image: mirror.local/restate:1.7.12\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        let c = Config::layer(file, Config::default());
        assert_eq!(c.cluster.runtime, Some(RuntimeChoice::Docker));
        assert_eq!(c.cluster.handler_bind.as_deref(), Some("172.17.0.1"));
        assert_eq!(
            c.cluster.images(None).restate,
            "mirror.local/restate:1.7.12"
        );
    }

    #[test]
    fn conventions_overrides_come_from_the_file_and_are_checked() {
        use crate::pipeline::taxonomy::HeatMapOrientation;
        let file = FileConfig::parse(
            "conventions:\n  review-threshold: 0.5\n  classes:\n    borrowing-rates: {orientation: neutral}\n",
            Path::new("house.yaml"),
        )
        .unwrap();
        let c = Config::layer(file, Config::default());
        let t = c.conventions().unwrap();
        assert_eq!(
            t.class("borrowing-rates").unwrap().orientation,
            Some(HeatMapOrientation::Neutral)
        );
        assert_eq!(t.review_threshold, 0.5);
        let err = FileConfig::parse(
            "conventions:\n  classes:\n    borrowing-rates: {orientatoin: neutral}\n",
            Path::new("house.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("house.yaml") && err.contains("orientatoin"),
            "{err}"
        );
        let file = FileConfig::parse(
            "conventions:\n  classes:\n    policy-rates: {orientation: neutral}\n",
            Path::new("house.yaml"),
        )
        .unwrap();
        let err = Config::layer(file, Config::default())
            .conventions()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("conventions.classes.policy-rates: no such class"),
            "{err}"
        );
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
}
