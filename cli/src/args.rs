//! The command line, as clap derives it.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "rollout",
    version,
    about = "Progressive delivery for AWS Lambda aliases"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Show the steps a strategy names
    Plan(PlanArgs),
    /// Move an alias to a version in steps, watching alarms; waits until it ends
    Run(RunArgs),
    /// Show an alias and the rollout it carries, if any
    Status(AliasArgs),
    /// Put a split alias back on its current version now
    Abort(AbortArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Args)]
pub struct PlanArgs {
    /// e.g. Canary10Percent5Minutes, LambdaLinear10PercentEvery1Minute, 5%:1m,50%:5m
    pub strategy: String,
    /// Bake time after 100%, e.g. 10m
    #[arg(long)]
    pub bake: Option<String>,
    /// Show what each step will be judged on: the spec's analysis as JSON, or @FILE
    #[arg(long)]
    pub analysis: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(Args)]
pub struct RunArgs {
    /// Function name or ARN
    #[arg(long = "function")]
    pub function: String,
    /// The alias to move (e.g. live)
    #[arg(long)]
    pub alias: String,
    /// The published version to move to
    #[arg(long = "to")]
    pub to: String,
    /// The version the alias is on now (checked; default: read from the alias)
    #[arg(long = "from")]
    pub from: Option<String>,
    /// How to move: a CodeDeploy/SAM name or a custom list like 5%:1m,50%:5m (see `rollout plan`)
    #[arg(long, default_value = "Canary10Percent5Minutes")]
    pub strategy: String,
    /// A CloudWatch alarm to watch (repeatable); a missing one refuses the rollout
    #[arg(long = "alarm")]
    pub alarms: Vec<String>,
    /// SNS topic ARN for notifications
    #[arg(long)]
    pub topic: Option<String>,
    /// Keep watching alarms this long after 100%, e.g. 10m
    #[arg(long)]
    pub bake: Option<String>,
    /// Judge each step by the new version's own metrics against the old one's: the spec's
    /// analysis object as JSON (e.g. '{"minInvocations": 100}', '{}' for every default), or @FILE
    #[arg(long)]
    pub analysis: Option<String>,
    /// How often alarms are checked while a step holds, e.g. 2s
    #[arg(long, default_value = "2s")]
    pub poll: String,
    /// text: progress lines; json: progress on stderr, the final rollout state on stdout
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(Args)]
pub struct AliasArgs {
    /// Function name or ARN
    #[arg(long = "function")]
    pub function: String,
    /// The alias to show
    #[arg(long)]
    pub alias: String,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(Args)]
pub struct AbortArgs {
    /// Function name or ARN
    #[arg(long = "function")]
    pub function: String,
    /// The alias to put back on its current version
    #[arg(long)]
    pub alias: String,
    /// Why, for the notification
    #[arg(long, default_value = "aborted by an operator")]
    pub reason: String,
    /// SNS topic ARN to tell (default: none)
    #[arg(long)]
    pub topic: Option<String>,
}
