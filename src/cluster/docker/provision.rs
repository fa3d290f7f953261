//! Bringing the engine to the described state: images, the labelled network, one volume per
//! container, and each container running with its current configuration (started if stopped,
//! recreated if its configuration changed, refused if a same-named object is not ours).

use super::{DockerCluster, DockerError};
use crate::cluster::container_spec;
use crate::cluster::container_spec::{
    ContainerSpec, LABEL_CLUSTER, LABEL_COMPONENT, LABEL_CONFIG_HASH,
};
use crate::cluster::docker_engine::{EngineError, port_in_use_error};
use crate::cluster::process;
use crate::cluster::spec::Runtime;
use crate::cluster::state::ClusterState;
use crate::cluster::status::StartReport;
use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use std::collections::HashMap;

impl DockerCluster {
    /// Everything before the containers: state dir, `cluster.json`, the identity key file,
    /// images and the network. Returns the containers to run, in start order.
    pub(super) async fn prepare(
        &self,
        say: &mut dyn FnMut(&str),
    ) -> Result<Vec<ContainerSpec>, DockerError> {
        let dirs = self.spec.dirs();
        for d in [dirs.root.clone(), dirs.config()] {
            std::fs::create_dir_all(&d).map_err(|source| DockerError::Io {
                what: "creating",
                path: d.display().to_string(),
                source,
            })?;
        }
        self.write_identity_key()?;
        let containers = self.containers();
        let mut images: Vec<&str> = Vec::new();
        for c in &containers {
            if !images.contains(&c.image.as_str()) {
                images.push(&c.image);
            }
        }
        for image in images {
            self.engine.ensure_image(image, say).await?;
        }
        // Recorded once the images are here: from now on this state dir is a docker cluster.
        ClusterState {
            runtime: Runtime::Docker,
            spec: self.spec.clone(),
            components: Default::default(),
        }
        .save(&dirs.cluster_file())?;
        self.ensure_network().await?;
        Ok(containers)
    }

    async fn ensure_network(&self) -> Result<(), DockerError> {
        let name = container_spec::network_name(&self.spec);
        match self.engine.inspect_network(&name).await? {
            Some(n) => self.check_ours("network", &name, n.labels.as_ref()),
            None => {
                self.engine
                    .api()
                    .create_network(NetworkCreateRequest {
                        name: name.clone(),
                        driver: Some("bridge".into()),
                        labels: Some(self.labels(None)),
                        ..Default::default()
                    })
                    .await
                    .map_err(|source| EngineError::Api {
                        what: format!("creating network {name}"),
                        source,
                    })?;
                tracing::debug!(%name, "created network");
                Ok(())
            }
        }
    }

    async fn ensure_volume(&self, name: &str, component: &str) -> Result<(), DockerError> {
        match self.engine.inspect_volume(name).await? {
            Some(v) => self.check_ours("volume", name, Some(&v.labels)),
            None => {
                self.engine
                    .api()
                    .create_volume(VolumeCreateRequest {
                        name: Some(name.into()),
                        labels: Some(self.labels(Some(component))),
                        ..Default::default()
                    })
                    .await
                    .map_err(|source| EngineError::Api {
                        what: format!("creating volume {name}"),
                        source,
                    })?;
                Ok(())
            }
        }
    }

    fn labels(&self, component: Option<&str>) -> HashMap<String, String> {
        let mut l = HashMap::from([(LABEL_CLUSTER.to_string(), self.spec.name.clone())]);
        if let Some(c) = component {
            l.insert(LABEL_COMPONENT.into(), c.into());
        }
        l
    }

    fn check_ours(
        &self,
        kind: &'static str,
        name: &str,
        labels: Option<&HashMap<String, String>>,
    ) -> Result<(), DockerError> {
        if labels.and_then(|l| l.get(LABEL_CLUSTER)) == Some(&self.spec.name) {
            Ok(())
        } else {
            Err(DockerError::NameTaken {
                kind,
                name: name.into(),
                cluster: self.spec.name.clone(),
            })
        }
    }

    /// Brings one container to "running with the desired configuration".
    pub(super) async fn ensure_container(
        &self,
        desired: &ContainerSpec,
        report: &mut StartReport,
        say: &mut dyn FnMut(&str),
    ) -> Result<(), DockerError> {
        let name = &desired.name;
        let existing = self.engine.inspect_container(name).await?;
        let mut create = existing.is_none();
        if let Some(c) = existing {
            let labels = c.config.as_ref().and_then(|cfg| cfg.labels.as_ref());
            self.check_ours("container", name, labels)?;
            let running = c.state.and_then(|s| s.running).unwrap_or(false);
            let same = labels.and_then(|l| l.get(LABEL_CONFIG_HASH))
                == desired.labels.get(LABEL_CONFIG_HASH);
            if !same {
                tracing::info!(container = %name, "configuration changed; recreating");
                say(&format!(
                    "recreating {} ({name}): its configuration changed; its data volume is kept",
                    desired.component
                ));
                self.engine
                    .api()
                    .remove_container(
                        name,
                        Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                    )
                    .await
                    .map_err(|source| EngineError::Api {
                        what: format!("removing container {name}"),
                        source,
                    })?;
                create = true;
            } else if running {
                report.already_running.push(desired.component.clone());
                return Ok(());
            }
        }
        self.check_ports_free(desired).await?;
        if create {
            for v in &desired.volumes {
                self.ensure_volume(&v.volume, &desired.component).await?;
            }
            self.engine
                .api()
                .create_container(
                    Some(CreateContainerOptionsBuilder::default().name(name).build()),
                    desired.to_create_body(),
                )
                .await
                .map_err(|source| EngineError::Api {
                    what: format!("creating container {name}"),
                    source,
                })?;
        }
        if let Err(source) = self.engine.api().start_container(name, None).await {
            if let Some(port) = port_in_use_error(&source.to_string()) {
                return Err(self.port_taken(desired, port).await);
            }
            return Err(EngineError::Api {
                what: format!("starting container {name}"),
                source,
            }
            .into());
        }
        tracing::debug!(container = %name, created = create, "started");
        say(&format!("started {} (container {name})", desired.component));
        report.started.push(desired.component.clone());
        Ok(())
    }

    async fn check_ports_free(&self, desired: &ContainerSpec) -> Result<(), DockerError> {
        for p in &desired.ports {
            if !process::port_is_free(p.host_port) {
                return Err(self.port_taken(desired, p.host_port).await);
            }
        }
        Ok(())
    }

    async fn port_taken(&self, desired: &ContainerSpec, port: u16) -> DockerError {
        let component = desired
            .ports
            .iter()
            .find(|p| p.host_port == port)
            .map(|p| p.what.clone())
            .unwrap_or_else(|| desired.component.clone());
        let owner = match self.engine.published_by(port).await {
            Some(o) => Some(o),
            None => process::port_owner(port),
        }
        .map(|o| format!(" by {o}"))
        .unwrap_or_default();
        DockerError::PortTaken {
            port,
            component,
            owner,
        }
    }
}
