//! The one mapping from every error of the use cases to what Lambda reports: a stable
//! `errorType` that callers (Step Functions `Retry`/`Catch`, people reading logs) match on.
//! Each function turns a [`Failure`] into the runtime's `Diagnostic` as it is, field for field.

use rollout_core::{InvalidField, Refusal};

use crate::driver::DriveError;
use crate::hooks::HookError;
use crate::ports::PipelineError;

/// A failed invocation, as Lambda reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error_type: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(error_type: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            error_type,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl From<InvalidField> for Failure {
    fn from(e: InvalidField) -> Self {
        Failure::new("InvalidInput", e.to_string())
    }
}

impl DriveError {
    pub fn error_type(&self) -> &'static str {
        match self {
            DriveError::Invalid(_) | DriveError::Refused(Refusal::Invalid(_)) => "InvalidInput",
            DriveError::Refused(Refusal::Unhealthy(_)) => "AlarmFiring",
            DriveError::Refused(Refusal::Conflict(_)) => "AliasConflict",
            // Still Pending after the wait this invocation could afford: a retry may find it
            // Active (the state machine retries it with backoff).
            DriveError::Refused(Refusal::NotReady(_)) => "VersionNotReady",
            DriveError::Alias(_) => "AwsError",
        }
    }
}

impl HookError {
    pub fn error_type(&self) -> &'static str {
        match self {
            HookError::InvalidInput(_) => "InvalidInput",
            HookError::Unanswered { .. } => "AwsError",
            HookError::Unchecked { error_type, .. } => error_type,
            HookError::NotificationFailed { .. } => "NotificationFailed",
        }
    }
}

impl From<DriveError> for Failure {
    fn from(e: DriveError) -> Self {
        Failure::new(e.error_type(), e.to_string())
    }
}

impl From<HookError> for Failure {
    fn from(e: HookError) -> Self {
        Failure::new(e.error_type(), e.to_string())
    }
}

impl From<PipelineError> for Failure {
    fn from(e: PipelineError) -> Self {
        Failure::new("AwsError", e.to_string())
    }
}

/// A warning that the alias is safe but people were not told: the invocation fails with
/// `NotificationFailed`, so that Lambda's retry (a harmless replay) can tell them.
pub fn notification_failed(warning: String) -> Failure {
    Failure::new("NotificationFailed", warning)
}
