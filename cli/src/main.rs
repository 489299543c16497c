//! `rollout`: plan, check, run, watch, pause, resume, promote and abort Lambda alias rollouts from a terminal or a
//! script.

// Every line the command prints goes through `out!` (stdout) or `eprintln!` (stderr), which
// show what a terminal would obey instead of sending it: an escape sequence or a
// bidirectional override in an alarm's reason, a marker's why=, an AWS error. The visible
// form is also a JSON escape, so a JSON document printed through them stays the same.

/// `println!` that shows escapes (above) and ignores a closed stdout (`rollout status | head`)
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        let _ = writeln!(
            std::io::stdout(),
            "{}",
            rollout_core::printable::printable_lines(&text)
        );
    }};
}

/// `eprintln!` that shows escapes (above): it stands in for std's in every module of the
/// command, so no line reaches stderr unescaped.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        let _ = writeln!(
            std::io::stderr(),
            "{}",
            rollout_core::printable::printable_lines(&text)
        );
    }};
}

mod abort;
mod args;
mod aws;
mod check;
mod control;
mod dashboard;
mod exit;
mod plan;
mod progress;
mod report;
mod run;
mod run_set;
mod status;

use clap::{CommandFactory, Parser};

use args::{Cli, Command, Global};
use exit::CommandError;
use rollout_core::engine::control::Operator;

#[tokio::main]
async fn main() {
    let cli = Cli::try_parse().unwrap_or_else(|error| exit::usage(error));
    init_logs(&cli.global);
    let code = match dispatch(cli.command, &cli.global).await {
        Ok(code) => code,
        Err(error) => error.report(cli.global.output),
    };
    std::process::exit(code);
}

/// Logs are for debugging, on stderr: off unless asked for with `-v` (ours), `-vv` (and the
/// AWS SDK's: the region, endpoint and each request), `-vvv` (everything); `RUST_LOG` (or
/// `ROLLOUT_LOG`) wins when set. What people need is printed anyway.
fn init_logs(global: &Global) {
    let asked = match global.verbose {
        0 => "off",
        1 => "rollout=debug",
        2 => "rollout=trace,aws=debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("ROLLOUT_LOG"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(asked));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

async fn dispatch(command: Command, global: &Global) -> Result<i32, CommandError> {
    match command {
        Command::Plan(args) => plan::plan(&args, global.output),
        Command::Run(args) => run::run(args, global).await,
        Command::Check(args) => check::check(&args, global).await,
        Command::Status(args) => status::status(&args, global).await,
        Command::Pause(args) => control::control(&args, Operator::Pause, global).await,
        Command::Resume(args) => control::control(&args, Operator::Resume, global).await,
        Command::Promote(args) => {
            control::control(&args.target, Operator::Promote { full: args.full }, global).await
        }
        Command::Abort(args) => abort::abort(&args, global).await,
        Command::Dashboard(args) => dashboard::dashboard(&args, global).await,
        Command::Report(args) => report::report(&args, global).await,
        Command::Completions(args) => {
            // Written whole and a closed stdout ignored (`rollout completions bash | head`),
            // as `out!` does: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "rollout", &mut script);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            Ok(exit::PROMOTED)
        }
    }
}
