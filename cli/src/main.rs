//! `rollout`: plan, check, run, watch, pause, resume, promote and abort Lambda alias rollouts from a terminal or a
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
mod control;
mod exit;
mod plan;
mod progress;
mod run;
mod status;

use clap::Parser;

use args::{Cli, Command};
use exit::CommandError;
use rollout_core::engine::control::Operator;

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
        Command::Pause(args) => control::control(&args, Operator::Pause).await,
        Command::Resume(args) => control::control(&args, Operator::Resume).await,
        Command::Promote(args) => {
            control::control(&args.target, Operator::Promote { full: args.full }).await
        }
        Command::Abort(args) => abort::abort(&args).await,
    }
}
