//! The parts of a cluster, as one enum with one parser for the names users type, so nothing
//! compares strings to find out what a component is.

use super::spec::ClusterSpec;
use std::fmt;

/// The object store's component name.
pub(crate) const OBJECT_STORE: &str = "object-store";
/// PostgreSQL's component name.
pub(crate) const POSTGRES: &str = "postgres";

/// One part of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Component {
    /// The S3 object store that holds partition snapshots.
    ObjectStore,
    /// The database.
    Postgres,
    /// Restate node `id` (1-based).
    Node(u32),
}

impl Component {
    /// Every component of `spec` in start order: object store, database, nodes.
    pub(crate) fn all(spec: &ClusterSpec) -> Vec<Component> {
        let mut v = vec![Component::ObjectStore, Component::Postgres];
        v.extend(spec.nodes.iter().map(|n| Component::Node(n.id)));
        v
    }

    /// The nodes of `spec`.
    pub(crate) fn nodes(spec: &ClusterSpec) -> Vec<Component> {
        spec.nodes.iter().map(|n| Component::Node(n.id)).collect()
    }

    /// Resolves what a user typed (`restate-2`, `2`, `n2`, `s3`, `minio`, `db`, …).
    pub(crate) fn parse(spec: &ClusterSpec, name: &str) -> Option<Component> {
        match name {
            "object-store" | "s3" | "seaweedfs" | "weed" | "minio" => Some(Component::ObjectStore),
            "postgres" | "postgresql" | "db" | "database" | "timescaledb" => {
                Some(Component::Postgres)
            }
            other => spec.node(other).map(|n| Component::Node(n.id)),
        }
    }

    /// Whether it is a Restate node.
    pub(crate) fn is_node(self) -> bool {
        matches!(self, Component::Node(_))
    }

    /// Its canonical name, as `cluster.json`, logs and `cluster logs` use it.
    pub(crate) fn name(self) -> String {
        match self {
            Component::ObjectStore => OBJECT_STORE.into(),
            Component::Postgres => POSTGRES.into(),
            Component::Node(id) => format!("restate-{id}"),
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::spec::SpecOptions;

    #[test]
    fn names_round_trip_and_aliases_resolve() {
        let spec = ClusterSpec::new(&SpecOptions::default()).unwrap();
        for c in Component::all(&spec) {
            assert_eq!(Component::parse(&spec, &c.name()), Some(c));
        }
        assert_eq!(
            Component::parse(&spec, "minio"),
            Some(Component::ObjectStore)
        );
        assert_eq!(Component::parse(&spec, "db"), Some(Component::Postgres));
        assert_eq!(Component::parse(&spec, "n2"), Some(Component::Node(2)));
        assert_eq!(Component::parse(&spec, "3"), Some(Component::Node(3)));
        assert_eq!(Component::parse(&spec, "restate-9"), None);
        assert_eq!(
            Component::all(&spec)
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>(),
            [
                "object-store",
                "postgres",
                "restate-1",
                "restate-2",
                "restate-3"
            ]
        );
    }
}
