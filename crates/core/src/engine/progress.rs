//! The state each decision leads to: pure transitions of a [`Rollout`], carried out after
//! (never instead of) the alias write that makes them true.

use chrono::{DateTime, Duration, Utc};

use super::{Decision, CHECK_INTERVAL_SECONDS};
use crate::alias::AliasState;
use crate::judgement::Judgement;
use crate::marker::Marker;
use crate::plan::Plan;
use crate::provisioned::{Provisioning, ALLOCATION_LIMIT_SECONDS, ALLOCATION_POLL_SECONDS};
use crate::state::{Control, Rollout, Spec, Status};

impl Rollout {
    /// The state a start leads to, once the first step has been written with `revision_id`;
    /// `provisioned` when the alias has provisioned concurrency.
    pub fn started(
        spec: &Spec,
        plan: &Plan,
        rollout_id: String,
        current: String,
        provisioned: bool,
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
            provisioned_concurrency: provisioned.then_some(Provisioning::Ready),
            step_started_at: None,
            last_judgement: None,
            control: None,
            control_id: None,
            set: None,
        }
        .after(&super::start::first_step(plan), plan, now)
    }

    /// The state after `decision` has been carried out at `now` (the caller then records the
    /// alias's new RevisionId). Pure: the alias write happens outside.
    pub fn after(&self, decision: &Decision, plan: &Plan, now: DateTime<Utc>) -> Rollout {
        let mut next = self.clone();
        match decision {
            Decision::Wait { seconds } => {
                next.wait_seconds = (*seconds).min(CHECK_INTERVAL_SECONDS)
            }
            // New weights on an alias with provisioned concurrency: its hold starts once they
            // are allocated (StartHold); until then, the time allowed for the allocation.
            Decision::Shift { step_index, weight } if next.provisioned_concurrency.is_some() => {
                next.control = None;
                next.step_index = *step_index;
                next.weight = *weight;
                next.allocate(now);
            }
            Decision::Promote { step_index } if next.provisioned_concurrency.is_some() => {
                next.control = None;
                next.step_index = *step_index;
                next.weight = 1.0;
                next.allocate(now);
            }
            Decision::Shift { step_index, weight } => {
                next.control = None;
                next.step_index = *step_index;
                next.weight = *weight;
                next.step_started_at = Some(now);
                next.hold(plan.steps[*step_index].hold_seconds, now);
            }
            Decision::Promote { step_index } => {
                next.control = None;
                next.step_index = *step_index;
                next.weight = 1.0;
                next.step_started_at = Some(now);
                match plan.steps[*step_index].hold_seconds {
                    0 => next.end(
                        Status::Succeeded,
                        format!("promoted version {}", self.spec.target_version),
                    ),
                    bake => next.hold(bake, now),
                }
            }
            Decision::StartHold => {
                next.provisioned_concurrency = Some(Provisioning::Ready);
                // A promote taken while the weights were allocated ends the hold at once.
                let hold = match self.control {
                    Some(c) if c.is_promote() => 0,
                    _ => plan
                        .steps
                        .get(self.step_index)
                        .map_or(0, |s| s.hold_seconds),
                };
                next.hold(hold, now);
            }
            Decision::Complete => next.end(
                Status::Succeeded,
                match plan.steps.last().map_or(0, |s| s.hold_seconds) {
                    0 => format!("promoted version {}", self.spec.target_version),
                    _ => format!(
                        "promoted version {}; bake time passed with no alarm",
                        self.spec.target_version
                    ),
                },
            ),
            Decision::RollBack { reason } => {
                next.weight = 0.0;
                next.end(Status::RolledBack, reason.clone());
            }
            Decision::Ended => {}
        }
        next
    }

    /// The state after `decision` with the judgement it was made on, as `lastJudgement`.
    pub fn after_judged(
        &self,
        decision: &Decision,
        plan: &Plan,
        judgement: Option<Judgement>,
        now: DateTime<Utc>,
    ) -> Rollout {
        let mut next = self.after(decision, plan, now);
        if judgement.is_some() {
            next.last_judgement = judgement;
        }
        next
    }

    /// The state once an operator's pause, resume or promote of this rollout is taken from
    /// the alias: only the operator's word (`op=`) and the new RevisionId. The rest of the
    /// marker (`next=`, the step) is not read from an operator's write: a hand edit that kept
    /// this rollout's id, versions and routing could otherwise end a hold by dropping `next=`.
    /// A promote ends the hold through [`Rollout::adopt_control`] alone.
    pub fn controlled(&self, marker: &Marker, alias: &AliasState, now: DateTime<Utc>) -> Rollout {
        let mut next = self.clone();
        next.alias_revision_id = alias.revision_id.clone();
        next.wait_seconds = match next.next_step_at {
            Some(due) if due > now => {
                ((due - now).num_seconds().max(0) as u64).min(CHECK_INTERVAL_SECONDS)
            }
            _ => 0,
        };
        next.adopt_control(marker, now);
        // A pause holds the step; it does not spend the canary's extension: a hold that ended
        // while paused ends again at the resume, so `maxExtension` counts from there.
        if next.control == Some(Control::Resumed) {
            next.next_step_at = next.next_step_at.map(|due| due.max(now));
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
        if next.provisioned_concurrency.is_some()
            && marker.status == Status::InProgress
            && marker.step_index != self.step_index
        {
            // A later step was written: its weights' allocation is not known to be READY.
            next.provisioned_concurrency = Some(Provisioning::Allocating);
        }
        next.next_step_at = match marker.status {
            Status::InProgress if marker.step_index == self.step_index => {
                // The state knows this step's hold: a marker's `next=` (a hand edit, or one
                // that lost it) never shortens it.
                match (self.next_step_at, marker.next_step_at) {
                    (Some(ours), Some(theirs)) => Some(ours.max(theirs)),
                    (ours, theirs) => ours.or(theirs),
                }
            }
            // A later step this state did not see: its marker's word, or, from a marker that
            // does not say (an older release, an edit), the step's whole hold from now. A
            // hold may restart; it is never skipped.
            Status::InProgress => marker.next_step_at.or_else(|| {
                let hold = match next.provisioned_concurrency {
                    Some(Provisioning::Allocating) => ALLOCATION_LIMIT_SECONDS,
                    _ => plan
                        .steps
                        .get(marker.step_index)
                        .map_or(0, |s| s.hold_seconds),
                };
                let mut held = next.clone();
                held.hold(hold, now);
                held.next_step_at
            }),
            _ => None,
        };
        next.step_index = marker.step_index;
        next.status = marker.status;
        next.alias_revision_id = alias.revision_id.clone();
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
        next.adopt_control(marker, now);
        if marker.status.is_terminal() && next.reason.is_none() {
            next.reason = Some(match (&marker.by, &marker.why) {
                (Some(by), Some(why)) => format!(
                    "stopped by {by}: {why}; alias put back on version {}",
                    marker.from_version
                ),
                (Some(by), None) => format!(
                    "stopped by {by}; alias put back on version {}",
                    marker.from_version
                ),
                (None, _) => format!("rollout had already ended {}", marker.status.as_str()),
            });
        }
        next
    }

    /// Takes an operator's pause, resume or promote from `marker` (the alias's, already
    /// checked to be this rollout's and to describe the alias): paused, it is asked again
    /// within the check interval, never sooner in a loop; promoted, its hold ends now (unless
    /// its weights are still being allocated: the hold then ends as soon as they are).
    pub fn adopt_control(&mut self, marker: &Marker, now: DateTime<Utc>) {
        // A promote at 100 % is not an operator's (the command refuses it: the bake is not
        // skipped), so it is not taken.
        self.control = marker.control.filter(|c| {
            marker.status == Status::InProgress
                && self.status == Status::InProgress
                && !(c.is_promote() && self.weight >= 1.0)
        });
        // The operator's last request id outlives the request itself (see `controlId`).
        if marker.control_id.is_some() {
            self.control_id = marker.control_id.clone();
        }
        let allocating = self.provisioned_concurrency == Some(Provisioning::Allocating);
        match self.control {
            Some(Control::Paused) => self.wait_seconds = CHECK_INTERVAL_SECONDS,
            Some(c) if c.is_promote() && !allocating => {
                if self.next_step_at.is_none_or(|due| due > now) {
                    self.next_step_at = Some(now);
                }
                self.wait_seconds = 0;
            }
            _ => {}
        }
    }

    /// Ends the rollout with `status` and the reason.
    pub fn end(&mut self, status: Status, reason: String) {
        self.control = None;
        self.status = status;
        self.reason = Some(reason);
        self.next_step_at = None;
        self.wait_seconds = 0;
    }

    /// Waits for the new weights' provisioned concurrency, for at most the allocation limit.
    fn allocate(&mut self, now: DateTime<Utc>) {
        self.provisioned_concurrency = Some(Provisioning::Allocating);
        self.hold(ALLOCATION_LIMIT_SECONDS, now);
        self.wait_seconds = ALLOCATION_POLL_SECONDS;
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
