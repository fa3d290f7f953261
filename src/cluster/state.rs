//! `cluster.json`: what runs where, so that `status`, `stop`, `logs` and a second `start` act on
//! exactly the processes this state dir started.

use super::spec::{ClusterSpec, Runtime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Errors reading or writing `cluster.json`.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error(
        "{path} is not a valid cluster state file ({source}); move it away or run `cluster clean`"
    )]
    Corrupt {
        /// The file.
        path: String,
        /// Parse error.
        source: serde_json::Error,
    },
}

/// One running (or last started) component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ComponentState {
    /// Process id (native) of the component.
    pub pid: u32,
    /// A string its command line contains, to tell it from a recycled pid.
    pub program: String,
    /// When we started it (RFC 3339).
    pub started_at: String,
}

/// The persisted description of a cluster and its processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClusterState {
    /// Which runtime started it.
    pub runtime: Runtime,
    /// The spec it was started with.
    pub spec: ClusterSpec,
    /// Components by name (`restate-1`, `object-store`, `postgres`).
    #[serde(default)]
    pub components: BTreeMap<String, ComponentState>,
}

impl ClusterState {
    /// Loads the state file if present.
    pub(crate) fn load(path: &Path) -> Result<Option<Self>, StateError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| StateError::Corrupt {
                        path: path.display().to_string(),
                        source,
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Saves atomically (mode 0600).
    pub(crate) fn save(&self, path: &Path) -> Result<(), StateError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| StateError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e),
        })?;
        super::credentials::write_private(path, &json).map_err(|source| StateError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}
