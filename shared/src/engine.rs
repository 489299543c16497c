//! The rollout's whole logic, pure: state and observations in, decisions out, and the new
//! state each decision leads to. No I/O, no clock, no `await`; drivers bring all of those.

use chrono::{DateTime, Duration, Utc};

use crate::observe::{AlarmVerdict, AliasState, Marker, TargetVersion};
use crate::plan::Plan;
use crate::state::{InvalidField, Rollout, Spec, Status};

/// The longest a driver should wait between two alarm checks while a step holds.
pub const CHECK_INTERVAL_SECONDS: u64 = 60;

/// What to do next with a rollout in flight.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing is due: check again in `seconds`.
    Wait { seconds: u64 },
    /// Put `weight` of the traffic on the target version (step `step_index` of the plan).
    Shift { step_index: usize, weight: f64 },
    /// Point the alias at the target version alone (the plan's last step).
    Promote { step_index: usize },
    /// The last step's hold (the bake time) passed with no breach: the rollout succeeded.
    Complete,
    /// Point the alias back at the current version, with no routing.
    RollBack { reason: String },
    /// The rollout has already ended: do nothing.
    Ended,
}

/// How a start request is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// Begin with the plan's first step (a `Shift` or a `Promote`).
    Begin(Decision),
    /// The target version already takes all traffic.
    AlreadyLive,
    /// The alias already carries this very rollout (a replayed start): report it, change nothing.
    Resume(Marker),
}

/// Why a start request is refused; nothing on AWS is touched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// A named alarm is firing or cannot be read.
    #[error("refusing to start: {0}")]
    Unhealthy(String),
    /// The alias is not where the spec expects it, or another deployment is splitting it.
    #[error("refusing to start: {0}")]
    Conflict(String),
}

/// Whether the alias is still what this rollout left it as.
#[derive(Debug, Clone, PartialEq)]
pub enum AliasCheck {
    Ours,
    /// It carries later progress of this same rollout: the input was a replay.
    Replayed(Marker),
    /// Someone else put it back on the current version (alarm-rollback, a person).
    RestoredToCurrent,
    /// Someone else changed it: never overwrite their change.
    ChangedByOthers(String),
}

/// Decides a start: pre-flight checks on the observed alias, target and alarms, then step one.
pub fn begin(
    spec: &Spec,
    plan: &Plan,
    alias: &AliasState,
    target: &TargetVersion,
    alarms: &[AlarmVerdict],
) -> Result<Start, Refusal> {
    let to = &spec.target_version;
    match target {
        TargetVersion::Missing => {
            return Err(InvalidField::new(
                "targetVersion",
                format!("version {to} of {} does not exist", spec.function_name),
            )
            .into())
        }
        TargetVersion::Present {
            state,
            last_update_status,
        } => {
            if state != "Active" || last_update_status != "Successful" {
                return Err(InvalidField::new(
                    "targetVersion",
                    format!("version {to} is {state} (last update {last_update_status}); it must be Active"),
                )
                .into());
            }
        }
    }
    if let Some(marker) = alias.marker() {
        let ours = marker.to_version == *to && marker.status == Status::InProgress;
        if ours && marker_matches_alias(&marker, plan, alias) {
            return Ok(Start::Resume(marker));
        }
    }
    if alias.is_settled_on(to) {
        return Ok(Start::AlreadyLive);
    }
    if let Some(missing) = alarms
        .iter()
        .find(|a| a.state == crate::observe::AlarmState::Missing)
    {
        return Err(InvalidField::new("alarms", missing.describe()).into());
    }
    if let Some(reason) = failing_alarms(alarms) {
        return Err(Refusal::Unhealthy(reason));
    }
    if let Some((other, weight)) = &alias.routing {
        return Err(Refusal::Conflict(format!(
            "alias {} already sends {} to version {other}; another deployment may be in progress",
            spec.alias,
            crate::plan::format_percent(*weight)
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

fn first_step(plan: &Plan) -> Decision {
    match plan.steps[0].weight {
        w if w >= 1.0 => Decision::Promote { step_index: 0 },
        weight => Decision::Shift {
            step_index: 0,
            weight,
        },
    }
}

/// Decides the next move of a rollout in flight from its alarms and the time.
pub fn decide(
    rollout: &Rollout,
    plan: &Plan,
    alarms: &[AlarmVerdict],
    now: DateTime<Utc>,
) -> Decision {
    if rollout.status.is_terminal() {
        return Decision::Ended;
    }
    if let Some(reason) = failing_alarms(alarms) {
        return Decision::RollBack { reason };
    }
    let due = rollout.next_step_at.unwrap_or(now);
    if now < due {
        let millis = (due - now).num_milliseconds().max(0) as u64;
        return Decision::Wait {
            seconds: millis.div_ceil(1000),
        };
    }
    if rollout.step_index >= plan.last_index() {
        return Decision::Complete;
    }
    let step_index = rollout.step_index + 1;
    match plan.steps[step_index].weight {
        w if w >= 1.0 => Decision::Promote { step_index },
        weight => Decision::Shift { step_index, weight },
    }
}

/// Every failing alarm, in one sentence; `None` when all are OK or without data.
fn failing_alarms(alarms: &[AlarmVerdict]) -> Option<String> {
    let failing: Vec<String> = alarms
        .iter()
        .filter(|a| a.fails())
        .map(AlarmVerdict::describe)
        .collect();
    (!failing.is_empty()).then(|| failing.join("; "))
}

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
        describe_alias(alias)
    ))
}

/// True when the alias looks exactly as the rollout that wrote `marker` left it.
fn marker_matches_alias(marker: &Marker, plan: &Plan, alias: &AliasState) -> bool {
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

/// The version to put an alias back on when an operator or an alarm stops its rollout;
/// `None` when the alias is settled and there is nothing to stop.
pub fn version_to_restore(alias: &AliasState) -> Option<String> {
    if alias.routing.is_some() {
        return Some(alias.version.clone());
    }
    match alias.marker() {
        Some(m) if m.status == Status::InProgress && alias.version == m.to_version => {
            Some(m.from_version)
        }
        _ => None,
    }
}

pub fn describe_alias(alias: &AliasState) -> String {
    match &alias.routing {
        None => format!("version {}", alias.version),
        Some((other, w)) => format!(
            "version {} with {} on {other}",
            alias.version,
            crate::plan::format_percent(*w)
        ),
    }
}

impl Rollout {
    /// The state a start leads to, once the first step has been written with `revision_id`.
    pub fn started(
        spec: &Spec,
        plan: &Plan,
        rollout_id: String,
        current: String,
        now: DateTime<Utc>,
    ) -> Rollout {
        let mut spec = spec.clone();
        spec.current_version = Some(current);
        Rollout {
            spec,
            rollout_id,
            status: Status::InProgress,
            step_index: 0,
            weight: 0.0,
            alias_revision_id: String::new(),
            started_at: now,
            next_step_at: Some(now),
            wait_seconds: 0,
            reason: None,
        }
        .after(&first_step(plan), plan, now)
    }

    /// The state after `decision` has been carried out at `now` (the caller then records the
    /// alias's new RevisionId). Pure: the alias write happens outside.
    pub fn after(&self, decision: &Decision, plan: &Plan, now: DateTime<Utc>) -> Rollout {
        let mut next = self.clone();
        match decision {
            Decision::Wait { seconds } => {
                next.wait_seconds = (*seconds).min(CHECK_INTERVAL_SECONDS)
            }
            Decision::Shift { step_index, weight } => {
                next.step_index = *step_index;
                next.weight = *weight;
                next.hold(plan.steps[*step_index].hold_seconds, now);
            }
            Decision::Promote { step_index } => {
                next.step_index = *step_index;
                next.weight = 1.0;
                match plan.steps[*step_index].hold_seconds {
                    0 => next.end(
                        Status::Succeeded,
                        format!("promoted version {}", self.spec.target_version),
                    ),
                    bake => next.hold(bake, now),
                }
            }
            Decision::Complete => next.end(
                Status::Succeeded,
                format!(
                    "promoted version {}; bake time passed with no alarm",
                    self.spec.target_version
                ),
            ),
            Decision::RollBack { reason } => {
                next.weight = 0.0;
                next.end(Status::RolledBack, reason.clone());
            }
            Decision::Ended => {}
        }
        next
    }

    /// The state a replay reports: the progress the alias's marker shows, changing nothing.
    pub fn replayed(
        &self,
        marker: &Marker,
        plan: &Plan,
        alias: &AliasState,
        now: DateTime<Utc>,
    ) -> Rollout {
        let mut next = self.clone();
        next.step_index = marker.step_index;
        next.status = marker.status;
        next.alias_revision_id = alias.revision_id.clone();
        next.next_step_at = marker.next_step_at;
        next.weight = match marker.status {
            Status::InProgress => plan.steps.get(marker.step_index).map_or(0.0, |s| s.weight),
            Status::Succeeded => 1.0,
            _ => 0.0,
        };
        next.wait_seconds = match (marker.status, marker.next_step_at) {
            (Status::InProgress, Some(due)) if due > now => {
                ((due - now).num_seconds().max(0) as u64).min(CHECK_INTERVAL_SECONDS)
            }
            _ => 0,
        };
        if marker.status.is_terminal() && next.reason.is_none() {
            next.reason = Some(match &marker.by {
                Some(by) => format!(
                    "{} by {by}: alias put back on version {}",
                    marker.status.as_str(),
                    marker.from_version
                ),
                None => format!("rollout had already ended {}", marker.status.as_str()),
            });
        }
        next
    }

    /// Ends the rollout with `status` and the reason.
    pub fn end(&mut self, status: Status, reason: String) {
        self.status = status;
        self.reason = Some(reason);
        self.next_step_at = None;
        self.wait_seconds = 0;
    }

    fn hold(&mut self, seconds: u64, now: DateTime<Utc>) {
        // Holds are bounded (2 days) by validation; saturate rather than overflow regardless.
        let span = Duration::try_seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
            .unwrap_or(Duration::MAX);
        self.next_step_at = Some(
            now.checked_add_signed(span)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        );
        self.wait_seconds = seconds.min(CHECK_INTERVAL_SECONDS);
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
