//! `restate-classify`: classify economic indicators through a six-stage pipeline run as durable
//! workflows on a multi-node Restate cluster.
//!
//! The binary (`src/main.rs`) is a thin clap front-end over these modules; everything here returns
//! typed errors (`thiserror`) so that the binary can report them with context.

pub mod cli;
pub mod cluster;
pub mod config;
pub mod dataset;
pub mod db;
pub mod import;
pub mod llm;
pub mod pipeline;
pub mod restate;
pub mod service;
pub mod sim;
pub mod submit;
pub mod tools;
