//! Submitting workflows to the cluster: round-robin over ready nodes with fail-over
//! ([`nodes`]), admission control that bounds in-flight workflows ([`admission`]), and the
//! submission loop itself ([`submitter`]).

pub(crate) mod admission;
pub(crate) mod nodes;
pub(crate) mod progress;
pub(crate) mod run;
pub(crate) mod submitter;
