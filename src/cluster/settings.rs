//! The cluster's settings, declared once: clap fills them from global flags and their
//! `RESTATE_CLASSIFY_*` variables, serde from the `cluster:` section of the YAML file. Opening a
//! cluster reconciles them with what its state dir recorded ([`ClusterSettings::spec`]).

use super::container_spec::{ENV_OBJECT_STORE_IMAGE, ENV_POSTGRES_IMAGE, ENV_RESTATE_IMAGE};
use super::spec::{ClusterSpec, Images, Runtime, SpecError, SpecOptions, default_state_dir};
use serde::Deserialize;
use std::path::PathBuf;

/// Which runtime to use: a choice, resolved against the machine and the state dir into a
/// [`Runtime`] when the cluster is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeChoice {
    /// Child processes on this machine (the default for a new cluster).
    Native,
    /// Containers through the Docker API.
    Docker,
    /// Docker when a Docker API answers, else native.
    Auto,
}

settings_section! {
    /// The `cluster:` section and the global cluster flags.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, clap::Args)]
    #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
    pub struct ClusterSettings {
        /// Cluster name; its state lives in .restate-classify/<NAME> unless --state-dir is given.
        #[arg(long, global = true, env = "RESTATE_CLASSIFY_NAME")]
        pub name: Option<String>,
        /// The cluster's state dir (data, logs, generated configs and credentials).
        #[arg(long, global = true, env = "RESTATE_CLASSIFY_STATE_DIR", value_name = "DIR")]
        pub state_dir: Option<PathBuf>,
        /// Number of Restate nodes (1-5; default 3).
        #[arg(long, global = true, env = "RESTATE_CLASSIFY_NODES")]
        pub nodes: Option<u32>,
        /// Add N to every port (node 1 ingress 8080+N, admin 9070+N, …) to run beside another
        /// cluster.
        #[arg(long, global = true, env = "RESTATE_CLASSIFY_PORT_OFFSET", value_name = "N")]
        pub port_offset: Option<u32>,
        /// Partitions to provision (fixed when the cluster is first created; default 24).
        #[arg(long, global = true, env = "RESTATE_CLASSIFY_PARTITIONS")]
        pub partitions: Option<u16>,
        /// Runtime: native child processes (default), docker containers, or auto (docker when a
        /// Docker engine answers, else native). An existing cluster keeps the runtime it was
        /// made with.
        #[arg(long, global = true, env = "RESTATE_CLASSIFY_RUNTIME", value_enum)]
        pub runtime: Option<RuntimeChoice>,
        /// Address the handler server binds so the nodes reach it (default: 127.0.0.1 natively;
        /// the Docker host-gateway address, e.g. 172.17.0.1, for containers). Kept for later
        /// commands once a start used it.
        #[arg(long, global = true, env = "RESTATE_CLASSIFY_HANDLER_BIND", value_name = "IP")]
        pub handler_bind: Option<String>,
        /// Image of the Restate nodes in the docker runtime (default: the pinned upstream image;
        /// `scripts/build-images.sh` builds a local one where no registry is reachable).
        #[arg(long, global = true, env = ENV_RESTATE_IMAGE, value_name = "IMAGE")]
        pub restate_image: Option<String>,
        /// Image of the object store in the docker runtime (default: the pinned MinIO image).
        #[arg(long, global = true, env = ENV_OBJECT_STORE_IMAGE, value_name = "IMAGE")]
        pub object_store_image: Option<String>,
        /// Image of PostgreSQL in the docker runtime (default: the pinned TimescaleDB image).
        #[arg(long, global = true, env = ENV_POSTGRES_IMAGE, value_name = "IMAGE")]
        pub postgres_image: Option<String>,
    }
}

impl ClusterSettings {
    /// The cluster's state dir.
    pub(crate) fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| default_state_dir(self.name.as_deref().unwrap_or("local")))
    }

    /// The container images: each as set, else as `recorded` (an existing cluster's), else
    /// the pinned default.
    pub(crate) fn images(&self, recorded: Option<&Images>) -> Images {
        let base = recorded.cloned().unwrap_or_default();
        Images {
            restate: self.restate_image.clone().unwrap_or(base.restate),
            object_store: self.object_store_image.clone().unwrap_or(base.object_store),
            postgres: self.postgres_image.clone().unwrap_or(base.postgres),
        }
    }

    /// The cluster description on `runtime`: every setting as given, else as `recorded` (the
    /// spec in the state dir: name, shape, handler bind and images hold for later commands),
    /// else the default.
    pub(crate) fn spec(
        &self,
        runtime: Runtime,
        recorded: Option<&ClusterSpec>,
    ) -> Result<ClusterSpec, SpecError> {
        let defaults = SpecOptions::default();
        ClusterSpec::new(&SpecOptions {
            name: self
                .name
                .clone()
                .or_else(|| recorded.map(|s| s.name.clone()))
                .unwrap_or(defaults.name),
            state_dir: Some(self.state_dir()),
            nodes: self
                .nodes
                .or(recorded.map(|s| s.nodes.len() as u32))
                .unwrap_or(defaults.nodes),
            port_offset: self
                .port_offset
                .or(recorded.map(|s| s.port_offset))
                .unwrap_or(defaults.port_offset),
            partitions: self
                .partitions
                .or(recorded.map(|s| s.partitions))
                .unwrap_or(defaults.partitions),
            runtime,
            handler_bind: self
                .handler_bind
                .clone()
                .or_else(|| recorded.and_then(|s| s.handler_bind.clone())),
            images: self.images(recorded.map(|s| &s.images)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::state::ClusterState;

    fn recorded(dir: &std::path::Path, opts: SpecOptions) -> ClusterSpec {
        let spec = ClusterSpec::new(&SpecOptions {
            state_dir: Some(dir.to_path_buf()),
            ..opts
        })
        .unwrap();
        std::fs::create_dir_all(dir).unwrap();
        ClusterState {
            runtime: spec.runtime,
            spec: spec.clone(),
            components: Default::default(),
        }
        .save(&dir.join("cluster.json"))
        .unwrap();
        spec
    }

    #[test]
    fn the_recorded_spec_holds_where_nothing_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let spec = recorded(
            dir.path(),
            SpecOptions {
                nodes: 2,
                port_offset: 55,
                ..SpecOptions::default()
            },
        );
        let settings = ClusterSettings {
            state_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        assert_eq!(settings.spec(Runtime::Native, Some(&spec)).unwrap(), spec);
        let none = ClusterSettings::default();
        assert_eq!(none.state_dir(), PathBuf::from(".restate-classify/local"));
    }

    #[test]
    fn a_recorded_handler_bind_and_images_hold_for_later_commands() {
        let dir = tempfile::tempdir().unwrap();
        let spec = recorded(
            dir.path(),
            SpecOptions {
                runtime: Runtime::Docker,
                handler_bind: Some("172.17.0.1".into()),
                images: Images {
                    restate: "local/restate:1".into(),
                    ..Images::default()
                },
                ..SpecOptions::default()
            },
        );
        // `cluster status` with no flags: what `cluster start --handler-bind …` recorded.
        let later = ClusterSettings::default()
            .spec(Runtime::Docker, Some(&spec))
            .unwrap();
        assert_eq!(later.handler_bind.as_deref(), Some("172.17.0.1"));
        assert_eq!(later.images, spec.images);
        // A flag still wins, image by image.
        let changed = ClusterSettings {
            postgres_image: Some("local/pg:15".into()),
            ..Default::default()
        }
        .spec(Runtime::Docker, Some(&spec))
        .unwrap();
        assert_eq!(changed.images.postgres, "local/pg:15");
        assert_eq!(changed.images.restate, "local/restate:1");
    }

    #[test]
    fn settings_layer_field_by_field_and_bad_images_are_named() {
        let flags = ClusterSettings {
            nodes: Some(2),
            ..Default::default()
        };
        let file = ClusterSettings {
            nodes: Some(5),
            port_offset: Some(100),
            ..Default::default()
        };
        let merged = flags.over(file);
        assert_eq!((merged.nodes, merged.port_offset), (Some(2), Some(100)));
        let bad = ClusterSettings {
            object_store_image: Some("minio latest".into()),
            ..Default::default()
        };
        let err = bad.spec(Runtime::Docker, None).unwrap_err().to_string();
        assert!(
            err.contains("--object-store-image") && err.contains("minio latest"),
            "{err}"
        );
    }
}
