//! The alarm-rollback function's use case: from an alarm's state change (the function reads
//! it from EventBridge's `CloudWatch Alarm State Change` event) to the aliases the alarm
//! guards, and each of those that is mid-rollout put back on its current version (with every
//! other member of a release set it is in), then people told. Rollback first, always.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::driver::{DriveError, Driver, StopRequest, StopScope, Stopped};
use crate::failure::{notification_failed, Failure};
use crate::ports::{AlarmSource, AliasStore, Places};
use crate::set::ring::FoundSet;
use crate::set::{SetDriver, SetStopRequest};
use crate::settings::env;
use futures::future::join_all;
use rollout_core::settings::{self, Lookup};
use rollout_core::AliasState;
use rollout_core::EventKind;
use rollout_core::InvalidField;
use rollout_core::{AlarmState, AlarmVerdict};

/// alarm-rollback's settings: `NOTIFICATION_TOPIC_ARN`, where its rollbacks are told, and
/// `ROLL_BACK_ANY_SPLIT` (`true` to also put back splits no lambda-rollout rollout made, such
/// as CodeDeploy's; by default those are left alone).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmRollbackSettings {
    pub topic_arn: Option<String>,
    pub roll_back_any_split: bool,
}

impl AlarmRollbackSettings {
    pub fn from_env() -> Result<AlarmRollbackSettings, InvalidField> {
        Self::from_lookup(&env)
    }

    pub fn from_lookup(get: &impl Lookup) -> Result<AlarmRollbackSettings, InvalidField> {
        let roll_back_any_split = match get("ROLL_BACK_ANY_SPLIT").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(InvalidField::new(
                    "ROLL_BACK_ANY_SPLIT",
                    format!("{other:?} must be true or false"),
                ))
            }
        };
        Ok(AlarmRollbackSettings {
            topic_arn: settings::topic_arn(get)?,
            roll_back_any_split,
        })
    }
}

/// The tag that lists, as `function:alias function:alias`, what an alarm guards.
pub const GUARDS_TAG: &str = "lambda-rollout:guards";

/// The parts of an alarm state change that matter here.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChange {
    pub alarm_name: String,
    pub alarm_arn: Option<String>,
    pub state: String,
    pub reason: String,
    /// (function, alias) from `Resource` dimensions; (function, None) from `FunctionName` alone.
    pub dimensions: Vec<(String, Option<String>)>,
}

/// `fn:alias fn:alias` from the guards tag. Separated by spaces: CloudWatch refuses a comma
/// in a tag value (letters, digits, spaces and `_ . : / = + - @` only); commas, as written
/// by earlier releases' docs, are read too.
pub fn parse_guards_tag(value: &str) -> Vec<(String, Option<String>)> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter_map(|pair| pair.trim().split_once(':'))
        .filter(|(f, a)| !f.is_empty() && !a.is_empty())
        .map(|(f, a)| (f.trim().to_string(), Some(a.trim().to_string())))
        .collect()
}

/// What the alarm-rollback function did for one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmRollbackReport {
    pub alarm_name: String,
    pub state: String,
    pub rolled_back: Vec<Stopped>,
    pub left_alone: Vec<String>,
    /// The release sets put back, each told once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<SetRolledBack>,
}

/// A release set the alarm put back (every member in `rolledBack`), and the event it was told
/// with (`rollout.rolled_back`, or `rollout.failed` when a member is still split).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetRolledBack {
    pub set: String,
    pub rollout_id: String,
    pub event: &'static str,
}

/// On `ALARM`, rolls back every guarded alias that is mid-rollout (within `scope`), and every
/// member of a release set one of them is in (found from the members' markers: no driver need
/// be alive), each set told once; any other state, or an alarm that is no longer in ALARM when
/// read again (an old event): nothing.
/// Fails (so that Lambda retries) when a lookup failed, an alias could not be made safe, or
/// people could not be told; every other alias is still handled first.
pub async fn roll_back_guarded(
    driver: &Driver<'_>,
    aliases: &dyn AliasStore,
    alarms: &dyn AlarmSource,
    places: &dyn Places,
    change: AlarmChange,
    scope: StopScope<'_>,
    now: DateTime<Utc>,
) -> Result<AlarmRollbackReport, Failure> {
    let mut report = AlarmRollbackReport {
        alarm_name: change.alarm_name.clone(),
        state: change.state.clone(),
        rolled_back: Vec::new(),
        left_alone: Vec::new(),
        sets: Vec::new(),
    };
    if change.state != "ALARM" {
        return Ok(report);
    }
    // Events can arrive late or twice: act only on an alarm still in ALARM (one that cannot
    // be read counts as firing: fail closed).
    let now_state = driver
        .read_alarms(std::slice::from_ref(&change.alarm_name))
        .await;
    if let Some(verdict) = now_state.first().filter(|v| !v.fails()) {
        tracing::info!(alarm = %change.alarm_name, "the alarm is no longer in ALARM; old event");
        report.state = serde_json::to_value(&verdict.state)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        return Ok(report);
    }
    let mut first_error: Option<Failure> = None;
    let mut guarded = change.dimensions.clone();
    if let Some(arn) = &change.alarm_arn {
        match alarms.tags(arn).await {
            Ok(tags) => guarded.extend(
                tags.iter()
                    .filter(|(k, _)| k == GUARDS_TAG)
                    .flat_map(|(_, v)| parse_guards_tag(v)),
            ),
            // The aliases found are still handled; the invocation then fails so that
            // Lambda's retry can find the rest.
            Err(why) => {
                tracing::error!(%why, "could not read the alarm's tags");
                first_error.get_or_insert(Failure::new("AwsError", why.to_string()));
            }
        }
    }
    let mut targets: Vec<(String, String)> = Vec::new();
    for (function, alias) in guarded {
        let names = match alias {
            Some(alias) => vec![alias],
            None => match aliases.list(&function).await {
                Ok(names) => names,
                // A dimension may name a function that is gone; nothing of it to guard.
                Err(crate::ports::AliasError::NotFound { .. }) => Vec::new(),
                Err(other) => {
                    tracing::error!(%function, error = %other, "could not list the aliases");
                    first_error.get_or_insert(DriveError::from(other).into());
                    Vec::new()
                }
            },
        };
        for alias in names {
            if !targets.contains(&(function.clone(), alias.clone())) {
                targets.push((function.clone(), alias));
            }
        }
    }
    let reason = format!(
        "alarm {} went to ALARM: {}",
        change.alarm_name, change.reason
    );
    let verdict = vec![AlarmVerdict::new(
        change.alarm_name.clone(),
        AlarmState::Alarm,
    )];
    let sd = SetDriver {
        home: driver,
        places,
    };
    let (singles, sets) = sort_out(&sd, &targets, &mut first_error).await;
    // All at once: each alias is put back before its own alert, and no alias waits for
    // another's alerts (SNS and EventBridge are retried for up to half a minute each when
    // they throttle, which would otherwise hold every later alias split that long).
    let stops = singles.iter().map(|((function, alias), seen)| {
        let request = StopRequest {
            function,
            alias,
            kind: EventKind::RolledBack,
            reason: &reason,
            topic: None,
            alarms: verdict.clone(),
            scope,
        };
        driver.stop_seen(request, seen.clone(), now)
    });
    let set_stops = sets.iter().map(|(found, focus)| {
        let why = match found.members.iter().find(|m| m.link.index == *focus) {
            Some(m) => format!("members[{focus}] {}: {reason}", m.spec.label()),
            None => reason.clone(),
        };
        let (sd, alarms) = (&sd, verdict.clone());
        async move {
            let request = SetStopRequest {
                kind: EventKind::RolledBack,
                reason: &why,
                topic: None,
                alarms,
                scope,
                focus: *focus,
            };
            sd.stop(found, request, now).await
        }
    });
    let (stopped, sets_stopped) = futures::future::join(
        futures::future::join_all(stops),
        futures::future::join_all(set_stops),
    )
    .await;
    for (((function, alias), _), stopped) in singles.iter().zip(stopped) {
        match stopped {
            Ok(stopped) if stopped.restored_version.is_some() => {
                if let Some(warning) = &stopped.warning {
                    first_error.get_or_insert(notification_failed(warning.clone()));
                }
                report.rolled_back.push(stopped)
            }
            Ok(_) => report.left_alone.push(format!("{function}:{alias}")),
            // A dimension may name a version (`orders:3`) or an alias that is gone.
            Err(DriveError::Invalid(_)) => report.left_alone.push(format!("{function}:{alias}")),
            // Keep going: one alias failing must not leave the others split.
            Err(e) => {
                tracing::error!(%function, %alias, error = %e, "rollback failed");
                first_error.get_or_insert(e.into());
            }
        }
    }
    for stopped in sets_stopped {
        if let Some((member, e)) = stopped.first_failure() {
            tracing::error!(set = %stopped.set.set, %member, error = %e, "a member could not be put back");
            first_error.get_or_insert(Failure::new(e.error_type(), format!("{member}: {e}")));
        }
        if !stopped.unreached.is_empty() {
            // Fails the invocation (its failure is seen, and tried again): a member may be split.
            first_error.get_or_insert(Failure::new(
                "MemberUnreachable",
                stopped.set.reason.clone().unwrap_or_default(),
            ));
        }
        if let Some(warning) = &stopped.warning {
            first_error.get_or_insert(notification_failed(warning.clone()));
        }
        report.rolled_back.extend(stopped.put_back().cloned());
        report.left_alone.extend(stopped.left_alone.iter().cloned());
        if let Some(event) = stopped.event {
            report.sets.push(SetRolledBack {
                set: stopped.set.set.clone(),
                rollout_id: stopped.set.rollout_id.clone(),
                event: event.as_str(),
            });
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// An alias to stop alone, and how it was just read (its stop's first look).
type Single = ((String, String), Option<AliasState>);

/// Sorts the guarded aliases into those of no set, stopped one by one, and the sets some are
/// members of, each found once (from the first member the alarm guards, its place in the set
/// beside it). An alias that cannot be read is stopped alone: its stop keeps trying.
async fn sort_out(
    sd: &SetDriver<'_>,
    targets: &[(String, String)],
    first_error: &mut Option<Failure>,
) -> (Vec<Single>, Vec<(FoundSet, usize)>) {
    let read = join_all(targets.iter().map(|(f, a)| sd.read_home(f, a))).await;
    let mut singles = Vec::new();
    let mut members = Vec::new();
    for (target, alias) in targets.iter().zip(read) {
        let Ok(alias) = alias else {
            singles.push((target.clone(), None));
            continue;
        };
        let link = alias
            .marker()
            .filter(|m| m.describes(&alias))
            .and_then(|m| m.set.map(|l| (l.name, m.rollout_id, l.index)));
        match link {
            Some((name, id, index)) => members.push((target, alias, (name, id), index)),
            None => singles.push((target.clone(), Some(alias))),
        }
    }
    // One walk per set, all at once, from the first member the alarm guards.
    let mut firsts: Vec<(&(String, String), AliasState, usize)> = Vec::new();
    let mut seen = Vec::new();
    let mut others = Vec::new();
    for (target, alias, key, index) in members {
        match seen.contains(&key) {
            true => others.push((target, alias, key, index)),
            false => {
                seen.push(key);
                firsts.push((target, alias, index));
            }
        }
    }
    let walks = join_all(
        firsts
            .iter()
            .map(|((f, a), alias, _)| sd.found_from(f, a, alias.clone())),
    )
    .await;
    let mut sets = Vec::new();
    for ((target, alias, index), walked) in firsts.into_iter().zip(walks) {
        match walked {
            Ok(Some(found)) => sets.push((found, index)),
            Ok(None) => singles.push((target.clone(), Some(alias))),
            // Its own alias is still put back (alone); Lambda's retry walks the set again.
            Err(e) => {
                tracing::error!(function = %target.0, alias = %target.1, error = %e, "the set could not be walked");
                first_error.get_or_insert(e.into());
                singles.push((target.clone(), Some(alias)));
            }
        }
    }
    // Another guarded member the walk did not reach (members changed on both sides of it):
    // still put back, alone.
    for (target, alias, (name, id), index) in others {
        let reached = sets.iter().any(|(found, _)| {
            found.name == name
                && found.rollout_id == id
                && found.members.iter().any(|m| m.link.index == index)
        });
        if !reached {
            singles.push((target.clone(), Some(alias)));
        }
    }
    (singles, sets)
}

#[cfg(test)]
mod tests;
