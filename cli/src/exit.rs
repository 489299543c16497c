//! Every way the command ends, mapped to DESIGN.md's exit codes in one place.

use rollout_aws::Cause;
use rollout_core::printable::printable;
use rollout_core::{InvalidField, Refusal, Status};
use rollout_usecases::driver::DriveError;

use crate::args::{as_flags, Output};

pub const PROMOTED: i32 = 0;
pub const RUNTIME: i32 = 1;
pub const INVALID: i32 = 2;
pub const ROLLED_BACK: i32 = 3;
pub const ABORTED: i32 = 4;
pub const INTERRUPTED: i32 = 130;
/// 128 + SIGTERM, as shells report it.
pub const TERMINATED: i32 = 143;

/// A command that could not finish normally.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Invalid(InvalidField),
    /// The AWS setup (region, credentials) is missing, found before any call.
    #[error(transparent)]
    Setup(#[from] Cause),
    #[error(transparent)]
    Drive(DriveError),
    #[error(transparent)]
    Call(#[from] rollout_usecases::ports::CallFailed),
    #[error("{0}")]
    Runtime(String),
    /// A request that would change nothing (pausing twice, no rollout to watch): exit 2,
    /// nothing touched.
    #[error("{0}")]
    Refused(String),
}

/// A field at fault is named as the flag that gave it (`--alias`, not `alias`), whichever
/// command met it.
impl From<InvalidField> for CommandError {
    fn from(e: InvalidField) -> Self {
        CommandError::Invalid(as_flags(e))
    }
}

impl From<DriveError> for CommandError {
    fn from(e: DriveError) -> Self {
        CommandError::Drive(as_flags_in(e))
    }
}

/// The same error, naming flags instead of spec fields.
pub fn as_flags_in(e: DriveError) -> DriveError {
    match e {
        DriveError::Invalid(f) => DriveError::Invalid(as_flags(f)),
        DriveError::Refused(Refusal::Invalid(f)) => DriveError::Invalid(as_flags(f)),
        other => other,
    }
}

impl CommandError {
    pub fn code(&self) -> i32 {
        match self {
            CommandError::Invalid(_) | CommandError::Refused(_) => INVALID,
            CommandError::Setup(_) => RUNTIME,
            CommandError::Drive(DriveError::Invalid(_)) => INVALID,
            CommandError::Drive(DriveError::Refused(Refusal::Invalid(_))) => INVALID,
            CommandError::Drive(DriveError::Refused(Refusal::Unhealthy(_))) => ROLLED_BACK,
            CommandError::Drive(DriveError::Refused(Refusal::Conflict(_))) => ABORTED,
            // Still not Active after --wait-ready: the message names its state.
            CommandError::Drive(DriveError::Refused(Refusal::NotReady(_))) => INVALID,
            CommandError::Drive(_) => RUNTIME,
            CommandError::Call(_) | CommandError::Runtime(_) => RUNTIME,
        }
    }

    /// The error as stderr shows it, on one line: a refusal's by= and why= come from a marker
    /// anyone who can edit the alias wrote, an AWS error's text from AWS.
    fn line(&self) -> String {
        format!("error: {}", printable(&self.to_string()))
    }

    /// The flag at fault, when the input was.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            CommandError::Invalid(f)
            | CommandError::Drive(DriveError::Invalid(f))
            | CommandError::Drive(DriveError::Refused(Refusal::Invalid(f))) => Some(f.field),
            _ => None,
        }
    }

    /// Prints the error on stderr (and, with `--output json`, as the one JSON document on
    /// stdout, so a script reading stdout always gets JSON) and returns the exit code.
    pub fn report(self, output: Output) -> i32 {
        eprintln!("{}", self.line());
        let code = self.code();
        if output == Output::Json {
            let error = serde_json::json!({
                "error": self.to_string(),
                "field": self.field(),
                "exitCode": code,
            });
            out!(
                "{}",
                serde_json::to_string_pretty(&error).expect("an error serializes")
            );
        }
        code
    }
}

/// A command line clap refuses (an unknown flag, a missing one, a value not allowed): clap's
/// own message on stderr, and with `--output json` also the error document on stdout, as
/// every other error prints it; exit 2. Help and version are printed as asked, exit 0.
pub fn usage(error: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        error.exit();
    }
    let _ = error.print();
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if asks_for_json(&args) {
        let document = serde_json::json!({
            "error": usage_message(&error),
            "field": usage_field(&error),
            "exitCode": INVALID,
        });
        out!(
            "{}",
            serde_json::to_string_pretty(&document).expect("an error serializes")
        );
    }
    std::process::exit(INVALID)
}

/// Whether the command line asks for JSON, read from the raw arguments since clap could not
/// parse them.
fn asks_for_json(args: &[String]) -> bool {
    args.iter().any(|a| a == "--output=json")
        || args
            .windows(2)
            .any(|w| w[0] == "--output" && w[1] == "json")
}

/// clap's message on one line (what is wrong, and the values allowed when it lists them),
/// without its `error: ` prefix, usage and tips.
fn usage_message(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let message = message.join(" ");
    message
        .strip_prefix("error: ")
        .unwrap_or(&message)
        .to_string()
}

/// The flag clap names as at fault (`--alias` of `--alias <ALIAS>`), if it names one.
fn usage_field(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let named = match error.get(ContextKind::InvalidArg)? {
        ContextValue::String(arg) => arg.clone(),
        ContextValue::Strings(args) => args.first()?.clone(),
        _ => return None,
    };
    named.split_whitespace().next().map(str::to_string)
}

/// The exit code a finished rollout stands for.
pub fn for_status(status: Status) -> i32 {
    match status {
        Status::Succeeded => PROMOTED,
        Status::RolledBack => ROLLED_BACK,
        Status::Aborted => ABORTED,
        Status::Failed | Status::InProgress => RUNTIME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_still_pending_after_the_wait_is_invalid_input() {
        let still = CommandError::Drive(DriveError::Refused(Refusal::NotReady(
            "version 3 of orders is Pending (Creating), still after waiting 10m".into(),
        )));
        assert_eq!(still.code(), INVALID);
    }

    #[test]
    fn a_refusal_shows_a_markers_reason_with_escapes_made_visible() {
        let refused = CommandError::Refused(
            "rollout r-1 is already paused (by ops\u{1b}]0;owned\u{7}: see\u{202e}gol\n\
             error: forged); nothing changed"
                .into(),
        );
        assert_eq!(
            refused.line(),
            "error: rollout r-1 is already paused (by ops\\u001b]0;owned\\u0007: \
             see\\u202egol\\u000aerror: forged); nothing changed"
        );
    }

    #[test]
    fn an_invalid_flag_is_named_in_the_json_error() {
        let refused = CommandError::Drive(DriveError::Refused(Refusal::Invalid(
            InvalidField::new("--to", "must be a published version number"),
        )));
        assert_eq!(refused.field(), Some("--to"));
        let setup = CommandError::Setup(Cause::NoRegion { profile: None });
        assert_eq!((setup.field(), setup.code()), (None, RUNTIME));
    }
}
