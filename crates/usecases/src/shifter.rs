//! The traffic-shifter function: one rollout step per invocation. A spec starts, a state
//! steps, an abort puts the alias back, a CodePipeline job does either and reports to the
//! pipeline. Its settings come from its own environment, read once at cold start.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rollout_core::settings::{self, Lookup};
use rollout_core::{EventKind, InvalidField};
use serde_json::Value;

use crate::driver::{new_rollout_id, DriveError, Driver, StopRequest, StopScope};
use crate::failure::{notification_failed, Failure};
use crate::ports::JobResults;
use crate::readiness::{deadline_from_epoch_millis, ReadyWait};
use crate::request::ShifterRequest;
use crate::settings::env;

/// The shifter's settings: `NOTIFICATION_TOPIC_ARN` (used when a spec names no topic) and
/// `ALARM_NAMES` (watched for every rollout, on top of a spec's own).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShifterSettings {
    pub topic_arn: Option<String>,
    pub alarm_names: Vec<String>,
}

impl ShifterSettings {
    pub fn from_env() -> Result<ShifterSettings, InvalidField> {
        Self::from_lookup(&env)
    }

    pub fn from_lookup(get: &impl Lookup) -> Result<ShifterSettings, InvalidField> {
        Ok(ShifterSettings {
            topic_arn: settings::topic_arn(get)?,
            alarm_names: settings::list(get, "ALARM_NAMES"),
        })
    }
}

/// What an invocation keeps back from its deadline after waiting for a `Pending` version,
/// to start the rollout and answer: a start is a handful of calls, each bounded by the SDK's
/// retries (the template's timeout leaves room for both).
pub const WAIT_MARGIN: Duration = Duration::from_secs(20);

/// Carries out one request: what the caller gets back (a rollout state, or what an abort
/// did), and a warning when the alias is safe but people could not be told. A start waits
/// for a `Pending` target as `ready` allows.
pub async fn carry_out(
    driver: &Driver<'_>,
    request: ShifterRequest,
    now: DateTime<Utc>,
    ready: &ReadyWait<'_>,
) -> Result<(Value, Option<String>), DriveError> {
    let answer = match request {
        ShifterRequest::Start(spec) => {
            let stepped = driver.start(&spec, new_rollout_id(now), now, ready).await?;
            (to_value(stepped.rollout), stepped.warning)
        }
        ShifterRequest::Step(rollout) => {
            let stepped = driver.step(&rollout, now).await?;
            (to_value(stepped.rollout), stepped.warning)
        }
        ShifterRequest::Abort {
            function_name,
            alias,
            reason,
            topic,
            target_version,
        } => {
            let request = StopRequest {
                function: &function_name,
                alias: &alias,
                kind: EventKind::Aborted,
                reason: &reason,
                topic: topic.as_deref(),
                alarms: Vec::new(),
                scope: match target_version.as_deref() {
                    Some(version) => StopScope::OurRolloutTo(version),
                    None => StopScope::AnySplit,
                },
            };
            let stopped = driver.stop(request, now).await?;
            let warning = stopped.warning.clone();
            (to_value(stopped), warning)
        }
    };
    Ok(answer)
}

/// Everything the traffic-shifter function accepts: a CodePipeline job, or a spec, a state
/// or an abort action. The event is never logged: a job carries artifact credentials.
/// `deadline_ms` is the invocation's deadline, as Lambda gives it: a `Pending` target is
/// waited for until [`WAIT_MARGIN`] before it.
pub async fn dispatch(
    driver: &Driver<'_>,
    results: &dyn JobResults,
    event: Value,
    now: DateTime<Utc>,
    deadline_ms: u64,
) -> Result<Value, Failure> {
    let ready = ReadyWait::within(deadline_from_epoch_millis(deadline_ms), WAIT_MARGIN);
    if crate::pipeline::PipelineJob::detect(&event) {
        let job = crate::pipeline::PipelineJob::parse(event)?;
        let outcome = crate::pipeline::run_job(driver, results, &job, now, &ready).await?;
        return Ok(crate::pipeline::outcome_json(&outcome));
    }
    let request = ShifterRequest::parse(event)?;
    let (answer, warning) = carry_out(driver, request, now, &ready).await?;
    match warning {
        // The alias is safe; the invocation fails so that a retry (a replay) can tell people.
        Some(warning) => Err(notification_failed(warning)),
        None => Ok(answer),
    }
}

fn to_value(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("our own types serialize")
}
