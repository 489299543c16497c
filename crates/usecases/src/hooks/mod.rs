//! CodeDeploy traffic hooks (`BeforeAllowTraffic` / `AfterAllowTraffic`): one pair of
//! functions for every function in an account. Each finds what the deployment moves from its
//! own AppSpec, runs its checks, and answers CodeDeploy exactly once — also when discovery
//! fails, a check errors or panics, or time runs short — then tells people over SNS.

pub mod appspec;
pub mod checks;
#[cfg(any(test, feature = "test-util"))]
pub mod fakes;
mod run;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use crate::ports::{
    AlarmSource, AliasStore, Channel, DeploymentError, Deployments, Invoker, MetricsSource,
};
use crate::settings::env;
use rollout_core::settings::{self, Lookup};
use rollout_core::AlarmVerdict;
use rollout_core::{Analysis, InvalidField};

pub use crate::readiness::deadline_from_epoch_millis;
pub use appspec::AppSpecTarget;
pub use checks::Verdict;

/// Which lifecycle event a hook serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// `BeforeAllowTraffic`: the target version, the alarms, an optional smoke test.
    PreTraffic,
    /// `AfterAllowTraffic`: the alarms, watched over a bake window, and the target
    /// version's own metrics over it when `ANALYSIS` is set.
    PostTraffic,
}

impl HookKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::PreTraffic => "PreTraffic",
            HookKind::PostTraffic => "PostTraffic",
        }
    }

    /// The lifecycle event CodeDeploy runs this hook for.
    pub fn lifecycle_event(self) -> &'static str {
        match self {
            HookKind::PreTraffic => "BeforeAllowTraffic",
            HookKind::PostTraffic => "AfterAllowTraffic",
        }
    }

    /// Who acts, as named in notifications.
    pub fn source(self) -> &'static str {
        match self {
            HookKind::PreTraffic => "pre-traffic-hook",
            HookKind::PostTraffic => "post-traffic-hook",
        }
    }
}

/// The hooks' settings, from their own environment variables, read once at cold start.
#[derive(Debug, Clone, PartialEq)]
pub struct HookSettings {
    /// `NOTIFICATION_TOPIC_ARN`: where hook events go.
    pub topic_arn: Option<String>,
    /// `ALARM_NAMES`: the alarms the hooks check (comma separated).
    pub alarm_names: Vec<String>,
    /// `SMOKE_TEST_PAYLOAD`: JSON sent to the target version by the pre-traffic hook.
    pub smoke_payload: Option<Value>,
    /// `SMOKE_TEST_EXPECT`: a JSON subset the smoke answer must contain.
    pub smoke_expect: Option<Value>,
    /// `BAKE_SECONDS`: how long the post-traffic hook watches the alarms.
    pub bake_seconds: u64,
    /// `POLL_SECONDS` (default 5): how often the bake reads the alarms.
    pub poll: Duration,
    /// Time kept back from the invocation's deadline to answer and notify (at most a
    /// quarter of the time left).
    pub margin: Duration,
    /// `ANALYSIS`: the canary judgement's object, judged by the post-traffic hook alone on
    /// the bake window (so a bad value fails only that hook, still at cold start).
    pub analysis: Option<Result<Analysis, InvalidField>>,
}

impl HookSettings {
    pub fn from_env() -> Result<HookSettings, InvalidField> {
        Self::from_lookup(&env)
    }

    pub fn from_lookup(get: &impl Lookup) -> Result<HookSettings, InvalidField> {
        Ok(HookSettings {
            topic_arn: settings::topic_arn(get)?,
            alarm_names: settings::list(get, "ALARM_NAMES"),
            smoke_payload: settings::json(get, "SMOKE_TEST_PAYLOAD")?,
            smoke_expect: settings::json(get, "SMOKE_TEST_EXPECT")?,
            bake_seconds: settings::seconds(get, "BAKE_SECONDS", 0, 0)?,
            poll: Duration::from_secs(settings::seconds(get, "POLL_SECONDS", 5, 1)?),
            margin: Duration::from_secs(10),
            analysis: settings::json(get, "ANALYSIS")?.map(|value| {
                Analysis::from_json(&value)
                    .map_err(|e| InvalidField::new("ANALYSIS", e.to_string()))
            }),
        })
    }

    /// The smoke test runs when a payload or an expected answer is configured.
    pub fn smoke_test(&self) -> bool {
        self.smoke_payload.is_some() || self.smoke_expect.is_some()
    }
}

/// What the hook did, as its invocation returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookReport {
    pub deployment_id: String,
    pub hook: &'static str,
    /// The answer given to CodeDeploy: `Succeeded` or `Failed`.
    pub status: &'static str,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<AppSpecTarget>,
    pub alarms: Vec<AlarmVerdict>,
    /// False when CodeDeploy already had an answer (a retried invocation).
    pub answered_now: bool,
    pub notified: bool,
}

/// Every error comes after CodeDeploy has its answer, except `InvalidInput` (nothing to
/// answer) and `Unanswered` (answering failed: Lambda's retry tries again).
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    InvalidInput(InvalidField),
    #[error("could not answer CodeDeploy {status}: {source}")]
    Unanswered {
        status: &'static str,
        source: DeploymentError,
    },
    /// The checks did not reach a verdict, so the hook answered `Failed`.
    #[error("answered Failed: {reason}")]
    Unchecked {
        error_type: &'static str,
        reason: String,
    },
    #[error("answered {status}, but {message}")]
    NotificationFailed {
        status: &'static str,
        message: String,
    },
}

/// CodeDeploy's lifecycle hook event: the two ids the answer needs. Both hook functions take
/// it, so it is read here, field for field as `aws_lambda_events`' `CodeDeployLifecycleEvent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleEvent {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
}

/// The lifecycle hook event, checked for the two ids the answer needs.
pub fn parse_event(event: Value) -> Result<LifecycleEvent, InvalidField> {
    let event: LifecycleEvent = serde_json::from_value(event).map_err(|e| {
        InvalidField::new(
            "event",
            format!(
                "must be CodeDeploy's {{\"DeploymentId\", \"LifecycleEventHookExecutionId\"}}: {e}"
            ),
        )
    })?;
    if event.deployment_id.trim().is_empty() {
        return Err(InvalidField::new("DeploymentId", "must not be empty"));
    }
    if event.lifecycle_event_hook_execution_id.trim().is_empty() {
        return Err(InvalidField::new(
            "LifecycleEventHookExecutionId",
            "must not be empty",
        ));
    }
    Ok(event)
}

/// When the checks must be done, and how long a bake may last, so that the answer still
/// goes out before the invocation's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The checks are cut off here and the hook answers `Failed`.
    pub checks_by: Instant,
    /// A bake, or the wait for a `Pending` target, ends here at the latest, leaving time
    /// for what follows it (the last alarm read; the alarms and the smoke test).
    pub bake_by: Instant,
}

impl Budget {
    pub fn new(now: Instant, deadline: Instant, margin: Duration) -> Budget {
        let margin = margin.min(deadline.saturating_duration_since(now) / 4);
        let checks_by = deadline.checked_sub(margin).unwrap_or(now).max(now);
        let bake_by = checks_by.checked_sub(margin).unwrap_or(now).max(now);
        Budget { checks_by, bake_by }
    }
}

/// A hook with its adapters, built once per cold start.
pub struct Hook {
    pub kind: HookKind,
    /// A bad configuration does not stop the hook from answering: it answers `Failed`.
    pub settings: Result<HookSettings, InvalidField>,
    pub deployments: Box<dyn Deployments>,
    pub aliases: Box<dyn AliasStore>,
    pub alarms: Box<dyn AlarmSource>,
    /// The versions' own metrics, for `ANALYSIS`.
    pub metrics: Box<dyn MetricsSource>,
    pub invoker: Box<dyn Invoker>,
    /// Every channel its events go to (none: nobody is told).
    pub channels: Vec<Box<dyn Channel>>,
}
