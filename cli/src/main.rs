//! `rollout`: plan, check, run, watch and abort Lambda alias rollouts from a terminal or a
//! script.

/// `println!` that ignores a closed stdout (`rollout status | head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod abort;
mod args;
mod check;
mod dashboard;
mod exit;
mod plan;
mod progress;
mod report;
mod run;
mod status;

use clap::Parser;

use args::{Cli, Command};
use exit::CommandError;

#[tokio::main]
async fn main() {
    // Logs are for debugging (RUST_LOG=debug, or ROLLOUT_LOG as before); what people need
    // is printed anyway.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("ROLLOUT_LOG"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let code = match dispatch(cli.command).await {
        Ok(code) => code,
        Err(error) => error.report(),
    };
    std::process::exit(code);
}

async fn dispatch(command: Command) -> Result<i32, CommandError> {
    match command {
        Command::Plan(args) => plan::plan(&args),
        Command::Run(args) => run::run(args).await,
        Command::Check(args) => check::check(&args).await,
        Command::Status(args) => status::status(&args).await,
        Command::Abort(args) => abort::abort(&args).await,
        Command::Dashboard(args) => dashboard::dashboard(&args).await,
        Command::Report(args) => report::report(&args).await,
    }
}
