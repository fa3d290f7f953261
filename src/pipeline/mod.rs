//! Pure, synchronous classification logic: the taxonomy, the indicator record, the six stages and
//! the rules engine. No I/O here; the service and LLM layers wrap it.

pub mod aggregation;
pub mod answer;
pub mod concept;
mod countries;
pub mod dates;
pub mod facts;
pub mod normalization;
pub mod orientation;
pub mod record;
pub mod stage;
pub mod taxonomy;
pub mod text;
pub mod time_inference;
pub mod units;
pub mod view;
