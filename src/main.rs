//! The `restate-classify` binary: parses the command line and reports errors; the work is in the
//! library.

use clap::Parser;
use restate_classify::cli::{self, Cli, Command};
use tracing_subscriber::EnvFilter;

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,restate_classify=info",
        1 => "info,restate_classify=debug",
        _ => "debug,restate_classify=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .compact()
        .init();
}

/// A token cancelled by the first Ctrl-C (stop submitting, leave workflows durable); a second
/// Ctrl-C exits at once.
fn interrupt_token() -> tokio_util::sync::CancellationToken {
    let token = tokio_util::sync::CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\ninterrupted: no new submissions; workflows already submitted stay durable. Ctrl-C again to quit at once."
            );
            t.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    token
}

async fn run(cli: Cli) -> anyhow::Result<i32> {
    match &cli.command {
        // Offline: needs no cluster configuration.
        Command::Eval(args) => {
            let config = cli.global.config_with(Some(&args.llm))?;
            cli::install_conventions(&config)?;
            cli::eval::run(args, &config).await?;
            Ok(0)
        }
        Command::Conventions(args) => {
            let config = cli.global.config()?;
            cli::conventions::run(&config, args)?;
            Ok(0)
        }
        Command::Review(args) => {
            let config = cli.global.config()?;
            cli::review::run(&config, args).await
        }
        Command::Export(args) => {
            let config = cli.global.config()?;
            cli::export::run(&config, args).await
        }
        Command::Report(args) => {
            let config = cli.global.config()?;
            cli::report::run(&config, args).await
        }
        Command::Setup(args) => {
            let config = cli.global.config()?;
            cli::setup::run(&config, args)?;
            Ok(0)
        }
        Command::Cluster(cmd) => {
            let config = cli.global.config()?;
            cli::cluster::run(&config, cmd).await
        }
        Command::Bench(cmd) => {
            let llm = match cmd {
                cli::bench::BenchCommand::Llm(a) => Some(&a.llm),
                cli::bench::BenchCommand::Pipeline(a) => Some(&a.classify.llm),
                cli::bench::BenchCommand::Ceiling(_) => None,
            };
            let config = cli.global.config_with(llm)?;
            cli::install_conventions(&config)?;
            cli::bench::run(&config, cmd).await
        }
        Command::AllInOne(args) => {
            let config = cli.global.config_with(Some(&args.classify.llm))?;
            cli::install_conventions(&config)?;
            cli::all_in_one::run(&config, args, interrupt_token()).await
        }
        Command::Classify(args) => {
            let config = cli.global.config_with(Some(&args.llm))?;
            cli::install_conventions(&config)?;
            cli::classify::run(&config, args, interrupt_token()).await
        }
        Command::Serve(args) => {
            let config = cli.global.config_with(Some(&args.llm))?;
            cli::install_conventions(&config)?;
            cli::serve::run(&config, args).await
        }
        Command::Status(args) => {
            let config = cli.global.config()?;
            cli::status::run(&config, args).await
        }
        Command::Db(cmd) => {
            let config = cli.global.config()?;
            cli::db::run(&config, cmd).await
        }
        Command::Compose(args) => {
            let config = cli.global.config()?;
            cli::compose::run(&config, args)?;
            Ok(0)
        }
        // A local simulator: only the conventions its rules answer with come from the config.
        Command::LlmSim(args) => {
            cli::install_conventions(&cli.global.config()?)?;
            cli::llm_sim::run(args).await
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
