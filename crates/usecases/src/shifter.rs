//! The traffic-shifter function's use case: one rollout step per invocation. A spec starts,
//! a state steps (a release set's too), an abort puts the alias back (a CodePipeline job, which does either, is
//! [`crate::pipeline`]'s). Its settings come from its own environment, read once at cold start.

use chrono::{DateTime, Utc};
use rollout_core::settings::{self, Lookup};
use rollout_core::{EventKind, InvalidField};
use serde_json::Value;

use crate::driver::{new_rollout_id, DriveError, Driver, StopRequest, StopScope, Stopped};
use crate::ports::Places;
use crate::readiness::ReadyWait;
use crate::request::ShifterRequest;
use crate::set::ring::FoundSet;
use crate::set::{SetDriver, SetStopRequest};
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
            rollout_id,
            members,
        } => {
            let sets = SetDriver {
                home: driver,
                places,
            };
            // An alias that cannot be read now is stopped alone: its stop keeps trying.
            let seen = sets.read_home(&function_name, &alias).await.ok();
            let mut found = match &seen {
                Some(seen) => {
                    sets.found_from(&function_name, &alias, seen.clone())
                        .await?
                }
                None => None,
            };
            // One set's rollout asked for: found from any of its members still its own.
            if let Some(id) = rollout_id.as_deref() {
                if found.as_ref().is_none_or(|f| f.rollout_id != id) {
                    found = set_from_members(&sets, &members, id).await?;
                }
                if found.is_none() {
                    let answer = serde_json::json!({"functionName": function_name,
                        "alias": alias, "rolloutId": id, "status": "NothingToStop",
                        "reason": format!("no alias named carries rollout {id} any more; left alone")});
                    return Ok((answer, None));
                }
            }
            match found {
                Some(found) => {
                    let stopped = abort_set(
                        &sets,
                        &found,
                        &reason,
                        topic.as_deref(),
                        rollout_id.as_deref(),
                        target_version.is_some(),
                        now,
                    )
                    .await?;
                    let warning = stopped
                        .get("warning")
                        .and_then(Value::as_str)
                        .map(String::from);
                    (stopped, warning)
                }
                None => {
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
                    let stopped = driver.stop_seen(request, seen, now).await?;
                    let warning = stopped.warning.clone();
                    (to_value(stopped), warning)
                }
            }
        }
    };
    Ok(answer)
}

/// The set whose rollout `id` is, found from the first of `members` that still carries it.
async fn set_from_members(
    sets: &SetDriver<'_>,
    members: &[rollout_core::set::MemberSpec],
    id: &str,
) -> Result<Option<FoundSet>, DriveError> {
    for member in members {
        let Ok(place) = sets.places.place(member).await else {
            continue;
        };
        let Ok(alias) = place
            .aliases
            .get(&member.function_name, &member.alias)
            .await
        else {
            continue;
        };
        let patience = &sets.home.patience;
        if let Some(found) = crate::set::ring::walk(sets.places, patience, member.clone(), alias)
            .await?
            .filter(|f| f.rollout_id == id)
        {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Puts every member of `found` back and says what was done, in the one-alias abort's
/// vocabulary with the set's (`set`, `rolloutId`, `members`, `leftAlone`). Only this set:
/// a `rolloutId` that is not the set's found stops nothing; with one (or a `targetVersion`,
/// as the state machine sends), only lambda-rollout rollouts are stopped. A member still
/// split is an error, so that the caller's retry tries again.
async fn abort_set(
    sets: &SetDriver<'_>,
    found: &FoundSet,
    reason: &str,
    topic: Option<&str>,
    rollout_id: Option<&str>,
    ours_only: bool,
    now: DateTime<Utc>,
) -> Result<Value, DriveError> {
    if rollout_id.is_some_and(|id| id != found.rollout_id) {
        return Ok(serde_json::json!({
            "set": found.name, "rolloutId": found.rollout_id, "status": "NothingToStop",
            "reason": format!("set {} carries another rollout ({}); left alone", found.name, found.rollout_id),
            "members": [], "leftAlone": []}));
    }
    let request = SetStopRequest {
        kind: EventKind::Aborted,
        reason,
        topic,
        alarms: Vec::new(),
        scope: match ours_only || rollout_id.is_some() {
            true => StopScope::OurRollouts,
            false => StopScope::AnySplit,
        },
        focus: 0,
    };
    let stopped = sets.stop(found, request, now).await;
    if let Some((_, e)) = stopped.first_failure() {
        // An AWS error (`AwsError`): the state machine's retry puts back what is still split.
        return Err(DriveError::Alias(crate::ports::AliasError::Aws(
            crate::ports::CallFailed {
                operation: "UpdateAlias",
                message: stopped.set.reason.clone().unwrap_or_else(|| e.to_string()),
                transient: true,
            },
        )));
    }
    let members: Vec<&Stopped> = stopped.put_back().collect();
    let status = match stopped.event {
        Some(_) => stopped.set.status.as_str().to_string(),
        None => "NothingToStop".into(),
    };
    let mut answer = serde_json::json!({
        "set": found.name, "rolloutId": found.rollout_id, "status": status,
        "reason": stopped.set.reason, "members": members, "leftAlone": stopped.left_alone});
    if let Some(warning) = &stopped.warning {
        answer["warning"] = warning.clone().into();
    }
    Ok(answer)
}

fn to_value(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("our own types serialize")
}
