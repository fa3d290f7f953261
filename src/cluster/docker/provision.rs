//! Bringing the engine to the described state: the labelled network, one volume per container,
//! and each container running with its current configuration (started if stopped, recreated if
//! its configuration changed, refused if a same-named object is not ours).

use super::DockerBackend;
use super::engine::port_in_use_error;
use crate::cluster::backend::Say;
use crate::cluster::container_spec::{
    self, ContainerSpec, LABEL_CLUSTER, LABEL_COMPONENT, LABEL_CONFIG_HASH,
};
use crate::cluster::error::ClusterError;
use crate::host;
use std::collections::HashMap;

impl DockerBackend {
    pub(super) async fn ensure_network(&self) -> Result<(), ClusterError> {
        let name = container_spec::network_name(&self.spec);
        match self.engine.inspect_network(&name).await? {
            Some(n) => self.check_ours("network", &name, n.labels.as_ref()),
            None => {
                self.engine.create_network(&name, self.labels(None)).await?;
                tracing::debug!(%name, "created network");
                Ok(())
            }
        }
    }

    async fn ensure_volume(&self, name: &str, component: &str) -> Result<(), ClusterError> {
        match self.engine.inspect_volume(name).await? {
            Some(v) => self.check_ours("volume", name, Some(&v.labels)),
            None => Ok(self
                .engine
                .create_volume(name, self.labels(Some(component)))
                .await?),
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
    ) -> Result<(), ClusterError> {
        if labels.and_then(|l| l.get(LABEL_CLUSTER)) == Some(&self.spec.name) {
            Ok(())
        } else {
            Err(ClusterError::NameTaken {
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
        say: Say<'_>,
    ) -> Result<(), ClusterError> {
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
                self.engine.remove_container(name).await?;
                create = true;
            } else if running {
                return Ok(());
            }
        }
        if create {
            for v in &desired.volumes {
                self.ensure_volume(&v.volume, &desired.component).await?;
            }
            self.engine
                .create_container(name, desired.to_create_body())
                .await?;
        }
        if let Err(source) = self.engine.start_container(name).await {
            if let Some(port) = port_in_use_error(&source.to_string()) {
                return Err(self.port_taken(desired, port).await);
            }
            return Err(super::engine::EngineError::Api {
                what: format!("starting container {name}"),
                source,
            }
            .into());
        }
        tracing::debug!(container = %name, created = create, "started");
        Ok(())
    }

    pub(super) async fn check_ports_free(
        &self,
        desired: &ContainerSpec,
    ) -> Result<(), ClusterError> {
        for p in &desired.ports {
            if !host::port_is_free(p.host_port) {
                return Err(self.port_taken(desired, p.host_port).await);
            }
        }
        Ok(())
    }

    async fn port_taken(&self, desired: &ContainerSpec, port: u16) -> ClusterError {
        let component = desired
            .ports
            .iter()
            .find(|p| p.host_port == port)
            .map(|p| p.what.clone())
            .unwrap_or_else(|| desired.component.clone());
        let owner = match self.engine.published_by(port).await {
            Some(o) => Some(o),
            None => host::port_owner(port),
        }
        .map(|o| format!(" by {o}"))
        .unwrap_or_default();
        ClusterError::PortTaken {
            port,
            component,
            owner,
        }
    }
}
