//! `setup`: install the native runtime's programs into the tools dir.

use crate::config::Config;
use clap::Args;

/// Arguments of `setup`.
#[derive(Debug, Clone, Args)]
pub struct SetupArgs {}

/// Runs `setup`, printing one line per tool.
pub fn run(config: &Config, _args: &SetupArgs) -> Result<(), crate::tools::ToolError> {
    for step in crate::tools::setup(&config.tools)? {
        println!("{:<15} {}", step.tool, step.outcome);
    }
    Ok(())
}
