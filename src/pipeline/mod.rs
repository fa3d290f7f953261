//! Pure, synchronous classification logic: the taxonomy, the indicator record, the six stages and
//! the rules engine. No I/O here; the service and LLM layers wrap it.

pub mod record;
pub mod stage;
pub mod taxonomy;

/// Model name recorded for answers of the rules engine.
pub const RULES_MODEL: &str = "rules-v1";
