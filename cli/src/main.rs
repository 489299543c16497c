//! `rollout`: plan, run, watch and abort Lambda alias rollouts from a terminal or a script.

mod args;
mod exit;
mod progress;
mod run;
mod status;

use clap::Parser;

use args::{Cli, Command};
use exit::Failure;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("ROLLOUT_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let code = match dispatch(cli.command).await {
        Ok(code) => code,
        Err(failure) => failure.report(),
    };
    std::process::exit(code);
}

async fn dispatch(command: Command) -> Result<i32, Failure> {
    match command {
        Command::Plan(args) => status::plan(&args),
        Command::Run(args) => run::run(args).await,
        Command::Status(args) => status::status(&args).await,
        Command::Abort(args) => status::abort(&args).await,
    }
}
