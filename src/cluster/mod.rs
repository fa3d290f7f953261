//! The cluster lifecycle: a multi-node Restate cluster with its object store and database,
//! described once as data ([`spec`]) and run by a runtime: [`native`] child processes or
//! [`docker`] containers (described by [`container_spec`], also written out by [`compose`]),
//! behind one handle, [`runtime::ClusterRuntime`].

pub mod compose;
pub mod container_spec;
pub mod credentials;
pub mod docker;
pub mod docker_engine;
#[cfg(test)]
pub(crate) mod fake_engine;
pub mod health;
pub mod native;
pub mod object_store;
pub mod postgres;
pub mod probe_server;
pub mod process;
pub mod restate_config;
pub mod runtime;
pub mod spec;
pub mod state;
pub mod status;
