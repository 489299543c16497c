//! Whether the alias is still what this rollout left it as: the alias is the truth, and a
//! change made by anyone else is never overwritten. With it, what the alias should be: the
//! one a rollout state stands for ([`desired_alias`]) and the version a stop puts back
//! ([`version_to_restore`]).

use super::AliasCheck;
use crate::alias::{AliasState, AliasUpdate};
use crate::marker::Marker;
use crate::plan::Plan;
use crate::state::{Rollout, Status};

/// Compares the observed alias with what this rollout left it as.
pub fn reconcile(rollout: &Rollout, plan: &Plan, alias: &AliasState) -> AliasCheck {
    if alias.revision_id == rollout.alias_revision_id {
        return AliasCheck::Ours;
    }
    if let Some(marker) = alias.marker() {
        if marker.rollout_id == rollout.rollout_id && marker_matches_alias(&marker, plan, alias) {
            if is_control_only(rollout, &marker, alias) {
                return AliasCheck::Controlled(marker);
            }
            return AliasCheck::Replayed(marker);
        }
    }
    let current = rollout.spec.current_version.as_deref().unwrap_or_default();
    if alias.is_settled_on(current) {
        return AliasCheck::RestoredToCurrent;
    }
    AliasCheck::ChangedByOthers(format!(
        "alias {} was changed by someone else (now {}); leaving their change in place",
        rollout.spec.alias,
        crate::alias::describe_alias(alias)
    ))
}

/// The alias a rollout state stands for, with its marker.
pub fn desired_alias(rollout: &Rollout) -> AliasUpdate {
    let current = rollout.spec.current_version.clone().unwrap_or_default();
    let target = rollout.spec.target_version.clone();
    let (version, routing) = match rollout.status {
        Status::InProgress if rollout.weight >= 1.0 => (target, None),
        Status::InProgress => (current, Some((target, rollout.weight))),
        Status::Succeeded => (target, None),
        Status::RolledBack | Status::Aborted | Status::Failed => (current, None),
    };
    AliasUpdate {
        version,
        routing,
        description: Marker::of(rollout).render(),
    }
}

/// The version to put an alias back on when an operator or an alarm stops its rollout;
/// `None` when the alias is settled and there is nothing to stop.
pub fn version_to_restore(alias: &AliasState) -> Option<String> {
    if alias.routing.is_some() {
        return Some(alias.version.clone());
    }
    match alias.marker() {
        Some(m)
            if m.status == Status::InProgress
                && alias.version == m.to_version
                && m.describes(alias) =>
        {
            Some(m.from_version)
        }
        _ => None,
    }
}

/// True when the only change since this rollout's last write is an operator's pause, resume
/// or promote on its own marker: the same step, the same versions and routing.
fn is_control_only(rollout: &Rollout, marker: &Marker, alias: &AliasState) -> bool {
    let ours = desired_alias(rollout);
    marker.control.is_some()
        && marker.status == Status::InProgress
        && rollout.status == Status::InProgress
        && marker.step_index == rollout.step_index
        && marker.from_version == rollout.spec.current_version.as_deref().unwrap_or_default()
        && marker.to_version == rollout.spec.target_version
        && alias.version == ours.version
        && alias.routing == ours.routing
}

/// True when the alias looks exactly as the rollout that wrote `marker` left it; the plan
/// supplies the weight that markers of older releases did not record.
/// A marker in progress must also fit `plan`: its step exists there with the weight it
/// recorded (a rollout resumed with another strategy would otherwise take over its step
/// number and move the weight backwards).
pub(crate) fn marker_matches_alias(marker: &Marker, plan: &Plan, alias: &AliasState) -> bool {
    let mut marker = marker.clone();
    if marker.status == Status::InProgress {
        let Some(step) = plan.steps.get(marker.step_index) else {
            return false;
        };
        match marker.weight {
            Some(w) if (w - step.weight).abs() > 1e-9 => return false,
            Some(_) => {}
            None => marker.weight = Some(step.weight),
        }
    }
    marker.describes(alias)
}
