//! Every way the command ends, mapped to DESIGN.md's exit codes in one place.

use rollout_core::{InvalidField, Refusal, Status};
use rollout_usecases::driver::DriveError;

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
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Drive(#[from] DriveError),
    #[error(transparent)]
    Call(#[from] rollout_usecases::ports::CallFailed),
    #[error("{0}")]
    Runtime(String),
}

impl CommandError {
    pub fn code(&self) -> i32 {
        match self {
            CommandError::Invalid(_) => INVALID,
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

    /// Prints the error on stderr and returns the exit code.
    pub fn report(self) -> i32 {
        eprintln!("error: {self}");
        self.code()
    }
}

impl From<InvalidField> for CommandError {
    fn from(e: InvalidField) -> Self {
        CommandError::Invalid(e.to_string())
    }
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
}
