//! The command line, as clap derives it.

use std::time::Duration;

use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use rollout_core::plan::parse_hold;
use rollout_core::{InvalidField, Spec};

#[derive(Parser)]
#[command(
    name = "rollout",
    version,
    about = "Progressive delivery for AWS Lambda aliases"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after its name (like the AWS CLI's); listed apart
/// in each command's help, after the command's own. An empty `--region` or `--profile` is
/// refused here, not sent to the SDK (which would fail the first call vaguely).
#[derive(Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// AWS region (default: AWS_REGION, then the profile's region)
    #[arg(long, global = true, value_name = "REGION", value_parser = NonEmptyStringValueParser::new())]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE)
    #[arg(long, global = true, value_name = "PROFILE", value_parser = NonEmptyStringValueParser::new())]
    pub profile: Option<String>,
    /// Show the CLI's logs on stderr: -v info and debug, -vv also the AWS SDK's (RUST_LOG wins)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only errors, warnings and the final result
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// text, or json: one JSON document on stdout (the result, or the error as
    /// {"error", "field", "exitCode"}); progress and waits go to stderr
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub output: Output,
    /// Also send every event to this EventBridge bus (`default`, a name or an ARN)
    #[arg(
        long,
        global = true,
        env = "EVENT_BUS_NAME",
        value_name = "NAME",
        help_heading = "Channels"
    )]
    pub event_bus: Option<String>,
    /// Also send every event to this SNS topic in AWS Chatbot's format (Slack, Teams, Chime)
    #[arg(
        long,
        global = true,
        env = "CHATBOT_TOPIC_ARN",
        value_name = "ARN",
        help_heading = "Channels"
    )]
    pub chatbot_topic: Option<String>,
    /// Also POST every event to this URL (https://, or http:// to a loopback address); the
    /// URL is treated as a credential and never printed
    #[arg(
        long,
        global = true,
        env = "WEBHOOK_URL",
        hide_env_values = true,
        value_name = "URL",
        help_heading = "Channels"
    )]
    pub webhook: Option<String>,
    /// Sign the webhook's POSTs with this Secrets Manager secret (X-Rollout-Signature)
    #[arg(
        long,
        global = true,
        env = "WEBHOOK_SECRET_ARN",
        value_name = "ARN",
        help_heading = "Channels"
    )]
    pub webhook_secret_arn: Option<String>,
}

impl Global {
    /// The channels these flags (or their variables) configure, checked, naming the flag.
    pub fn channels(&self) -> Result<rollout_usecases::settings::ChannelSettings, InvalidField> {
        let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        rollout_usecases::settings::ChannelSettings {
            event_bus: given(&self.event_bus),
            chatbot_topic: given(&self.chatbot_topic),
            webhook_url: given(&self.webhook),
            webhook_secret_arn: given(&self.webhook_secret_arn),
        }
        .checked(["--chatbot-topic", "--webhook", "--webhook-secret-arn"])
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Show the steps a strategy names
    Plan(PlanArgs),
    /// Move an alias to a version in steps, watching alarms; waits until it ends
    Run(RunArgs),
    /// Every pre-flight check of `run`, and the alias's wiring, without changing anything
    Check(CheckArgs),
    /// Show an alias and the rollout it carries, if any (--watch: follow it until it ends)
    Status(StatusArgs),
    /// Hold a rollout at its current step, whoever drives it; alarms still roll it back
    Pause(ControlArgs),
    /// Let a paused rollout go on (its step advances once its hold is over)
    Resume(ControlArgs),
    /// End the current hold now (--full: straight to 100 %; the bake time still applies)
    Promote(PromoteArgs),
    /// Put a split alias back on its current version now
    Abort(AbortArgs),
    /// Create or update a CloudWatch dashboard of an alias: weight, verdict, per-version calls,
    /// error rate and p99, and the alarms that guard it
    Dashboard(DashboardArgs),
    /// Write a rollout's timeline as one self-contained HTML file, from CloudWatch and the alias
    Report(ReportArgs),
    /// Print a shell completion script, e.g. `rollout completions bash > /etc/bash_completion.d/rollout`
    Completions(CompletionsArgs),
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
}

/// What `run` moves and `check` checks.
#[derive(Args)]
pub struct TargetArgs {
    /// Function name or ARN
    #[arg(long = "function", required_unless_present = "set")]
    pub function: Option<String>,
    /// The alias to move (e.g. live)
    #[arg(long, required_unless_present = "set")]
    pub alias: Option<String>,
    /// The published version to move to
    #[arg(long = "to", required_unless_present = "set")]
    pub to: Option<String>,
    /// The version the alias is on now (checked; default: read from the alias)
    #[arg(long = "from")]
    pub from: Option<String>,
    /// A release set instead of one alias: a file (YAML or JSON) or inline JSON with `set`,
    /// `members` (each with functionName, alias, targetVersion) and the set's fields
    #[arg(long, conflicts_with_all = ["function", "alias", "to", "from"])]
    pub set: Option<String>,
    /// How to move: a CodeDeploy/SAM name or a custom list like 5%:1m,50%:5m (see `rollout plan`)
    #[arg(long, default_value = "Canary10Percent5Minutes")]
    pub strategy: String,
    /// A CloudWatch alarm to watch (repeatable); a missing one refuses the rollout
    #[arg(long = "alarm")]
    pub alarms: Vec<String>,
    /// How long to wait for a Pending target version to be Active, e.g. 10m (0s: do not wait)
    #[arg(long = "wait-ready", default_value = "10m")]
    pub wait_ready: String,
}

impl TargetArgs {
    /// The spec these flags stand for, with the run's own topic and bake time.
    pub fn spec(&self, topic: Option<String>, bake_time: Option<u64>) -> Spec {
        Spec {
            current_version: self.from.clone(),
            notification_topic_arn: topic,
            bake_time,
            ..Spec::new(
                self.function.as_deref().unwrap_or_default(),
                self.alias.as_deref().unwrap_or_default(),
                self.to.as_deref().unwrap_or_default(),
                &self.strategy,
            )
            .alarms(self.alarms.clone())
        }
    }

    /// `--wait-ready` as a duration.
    pub fn wait_ready(&self) -> Result<Duration, InvalidField> {
        match self.wait_ready.as_str() {
            "0" | "0s" => Ok(Duration::ZERO),
            text => parse_hold(text)
                .map(Duration::from_secs)
                .map_err(|why| InvalidField::new("--wait-ready", format!("{text:?} {why}"))),
        }
    }
}

/// Names the command-line flag instead of the spec field it fills.
pub fn as_flags(mut e: InvalidField) -> InvalidField {
    e.field = match e.field {
        "functionName" => "--function",
        "alias" => "--alias",
        "targetVersion" => "--to",
        "currentVersion" => "--from",
        "strategy" => "--strategy",
        "alarms" => "--alarm",
        "notificationTopicArn" => "--topic",
        "bakeTime" => "--bake",
        other => other,
    };
    e
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
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
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args)]
pub struct AliasArgs {
    /// Function name or ARN
    #[arg(long = "function")]
    pub function: String,
    /// The alias to show
    #[arg(long)]
    pub alias: String,
}

#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub alias: AliasArgs,
    /// Follow the rollout until it ends; exit with its exit code (0 promoted, 3 rolled back, 4 aborted, 1 failed; 2 when there is no rollout to follow)
    #[arg(long)]
    pub watch: bool,
    /// How often --watch reads the alias, e.g. 2s
    #[arg(long, default_value = "2s")]
    pub poll: String,
    /// With --watch: an alarm to show besides those whose dimensions name the alias (repeatable)
    #[arg(long = "alarm", requires = "watch")]
    pub alarms: Vec<String>,
    /// With --watch: judge the split as `run --analysis` would (JSON or @FILE), every 30s, over
    /// the time since the watch saw the current weight
    #[arg(long, requires = "watch")]
    pub analysis: Option<String>,
}

/// What `pause` and `resume` act on.
#[derive(Args)]
pub struct ControlArgs {
    /// Function name or ARN
    #[arg(long = "function")]
    pub function: String,
    /// The alias whose rollout to act on
    #[arg(long)]
    pub alias: String,
    /// Why, recorded on the alias and told in the notification
    #[arg(long, default_value = "asked by an operator")]
    pub reason: String,
    /// SNS topic ARN to tell (default: none; without it, and without EVENT_BUS_NAME, nobody is
    /// told: the driver that owns the rollout takes the word quietly)
    #[arg(long)]
    pub topic: Option<String>,
}

#[derive(Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub target: ControlArgs,
    /// Straight to 100 % instead of the next step (the bake time still applies)
    #[arg(long)]
    pub full: bool,
}

/// `--poll` as whole seconds, at least one.
pub fn poll_seconds(text: &str) -> Result<u64, InvalidField> {
    parse_hold(text).ok().filter(|s| *s > 0).ok_or_else(|| {
        InvalidField::new(
            "--poll",
            format!("{text:?} must be a duration of at least 1s, like 2s, 30s or 1m"),
        )
    })
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

#[derive(Args)]
pub struct DashboardArgs {
    /// Function name or ARN
    #[arg(long = "function")]
    pub function: String,
    /// The alias to show
    #[arg(long)]
    pub alias: String,
    /// The dashboard's name (default: lambda-rollout-FUNCTION-ALIAS)
    #[arg(long)]
    pub name: Option<String>,
    /// An alarm to show besides those whose dimensions name the alias (repeatable); a missing
    /// one is refused
    #[arg(long = "alarm")]
    pub alarms: Vec<String>,
}

#[derive(Args)]
pub struct ReportArgs {
    /// Function name or ARN
    #[arg(long = "function")]
    pub function: String,
    /// The alias the rollout moved
    #[arg(long)]
    pub alias: String,
    /// The window: this long back from now, e.g. 90m, 6h (at most 15 days, what CloudWatch keeps per minute)
    #[arg(long, conflicts_with = "rollout")]
    pub since: Option<String>,
    /// The window of this rollout (its id, e.g. r-20261123T130000123Z; default: the one the alias records)
    #[arg(long)]
    pub rollout: Option<String>,
    /// An alarm to show besides those whose dimensions name the alias (repeatable)
    #[arg(long = "alarm")]
    pub alarms: Vec<String>,
    /// The HTML file to write
    #[arg(long)]
    pub out: std::path::PathBuf,
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
