//! The traffic-shifter function's use case: one rollout step per invocation. A spec starts,
//! a state steps (a release set's too), an abort puts the alias back (a CodePipeline job, which does either, is
//! [`crate::pipeline`]'s). Its settings come from its own environment, read once at cold start.

use chrono::{DateTime, Utc};
use rollout_core::settings::{self, Lookup};
use rollout_core::{EventKind, InvalidField};
use serde_json::Value;

use crate::driver::{new_rollout_id, DriveError, Driver, StopRequest, StopScope};
use crate::ports::Places;
use crate::readiness::ReadyWait;
use crate::request::ShifterRequest;
use crate::set::SetDriver;
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

/// Carries out one request: what the caller gets back (a rollout state, or what an abort
/// did), and a warning when the alias is safe but people could not be told. A start waits
/// for a `Pending` target as `ready` allows.
pub async fn carry_out(
    driver: &Driver<'_>,
    places: &dyn Places,
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
        ShifterRequest::StartSet(spec) => {
            let sets = SetDriver {
                home: driver,
                places,
            };
            let stepped = sets.start(&spec, new_rollout_id(now), now, ready).await?;
            (to_value(stepped.set), stepped.warning)
        }
        ShifterRequest::StepSet(set) => {
            let sets = SetDriver {
                home: driver,
                places,
            };
            let stepped = sets.step(&set, now).await?;
            (to_value(stepped.set), stepped.warning)
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

fn to_value(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("our own types serialize")
}
