//! Whether the alias is still what this rollout left it as: the alias is the truth, and a
//! change made by anyone else is never overwritten.

use super::AliasCheck;
use crate::alias::AliasState;
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

/// True when the alias looks exactly as the rollout that wrote `marker` left it.
pub(crate) fn marker_matches_alias(marker: &Marker, plan: &Plan, alias: &AliasState) -> bool {
    match marker.status {
        Status::InProgress => match plan.steps.get(marker.step_index) {
            Some(step) if step.weight >= 1.0 => alias.is_settled_on(&marker.to_version),
            Some(step) => {
                alias.version == marker.from_version
                    && alias.routing == Some((marker.to_version.clone(), step.weight))
            }
            None => false,
        },
        Status::Succeeded => alias.is_settled_on(&marker.to_version),
        Status::RolledBack | Status::Aborted | Status::Failed => {
            alias.is_settled_on(&marker.from_version)
        }
    }
}
