//! The `restate-classify` binary: parses the command line, sets up logging and reports errors;
//! the work, including running the command on the async runtime (`cli::run`), is in the
//! library.

use clap::Parser;
use restate_classify::cli::{self, Cli};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    cli::logging::init(cli.global.verbose, cli.global.quiet);
    let outcome = match cli::run(cli) {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match outcome {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
