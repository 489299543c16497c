//! Starting a rollout: pre-flight checks on what was observed (the target version, the
//! alias, the alarms), then the plan's first step, or a replayed start recognised.

use super::{marker_matches_alias, Decision, Refusal, Start};
use crate::alarms::{self, AlarmState, AlarmVerdict};
use crate::alias::AliasState;
use crate::plan::{format_percent, Plan};
use crate::state::{Spec, Status};
use crate::validate::InvalidField;
use crate::version::TargetVersion;

/// Decides a start: pre-flight checks on the observed alias, target and alarms, then step one.
pub fn begin(
    spec: &Spec,
    plan: &Plan,
    alias: &AliasState,
    target: &TargetVersion,
    alarms: &[AlarmVerdict],
) -> Result<Start, Refusal> {
    let to = &spec.target_version;
    target
        .readiness(&spec.function_name, to)
        .map_err(|problem| InvalidField::new("targetVersion", problem))?;
    if let Some(marker) = alias.marker() {
        let in_progress = marker.status == Status::InProgress;
        if in_progress && marker.to_version == *to && marker_matches_alias(&marker, plan, alias) {
            return Ok(Start::Resume(marker));
        }
        // Another rollout still baking on its version: that version is not proven yet and
        // must not become this rollout's version to roll back to.
        if in_progress && marker.describes(alias) {
            return Err(Refusal::Conflict(format!(
                "alias {} carries rollout {} to version {} still in progress; let it end or abort it first",
                spec.alias, marker.rollout_id, marker.to_version
            )));
        }
    }
    if alias.is_settled_on(to) {
        return Ok(Start::AlreadyLive);
    }
    if let Some(missing) = alarms.iter().find(|a| a.state == AlarmState::Missing) {
        return Err(InvalidField::new("alarms", missing.describe()).into());
    }
    if let Some(reason) = alarms::failing(alarms) {
        return Err(Refusal::Unhealthy(reason));
    }
    if let Some((other, weight)) = &alias.routing {
        return Err(Refusal::Conflict(format!(
            "alias {} already sends {} to version {other}; another deployment may be in progress",
            spec.alias,
            format_percent(*weight)
        )));
    }
    if let Some(current) = &spec.current_version {
        if *current != alias.version {
            return Err(Refusal::Conflict(format!(
                "alias {} is on version {}, not on currentVersion {current}",
                spec.alias, alias.version
            )));
        }
    }
    Ok(Start::Begin(first_step(plan)))
}

pub(super) fn first_step(plan: &Plan) -> Decision {
    match plan.steps[0].weight {
        w if w >= 1.0 => Decision::Promote { step_index: 0 },
        weight => Decision::Shift {
            step_index: 0,
            weight,
        },
    }
}
