//! Submitting workflows to the cluster: round-robin over ready nodes with fail-over
//! ([`nodes`]), admission control that bounds in-flight workflows ([`admission`]), and the
//! submission loop itself ([`submitter`]).

pub mod admission;
pub mod nodes;
pub mod progress;
pub mod run;
pub mod submitter;
