//! The rollout's whole logic, pure: state and observations in, decisions out, and the new
//! state each decision leads to. No I/O, no clock, no `await`; drivers bring all of those.
//!
//! Read it top to bottom: [`preflight`] and [`begin`] (start.rs) check and decide a start,
//! [`decide`] (decide.rs) the next move ([`decide_allocating`] while provisioned concurrency
//! is allocated), [`reconcile`] (reconcile.rs) whether the alias is still ours (and
//! [`desired_alias`], [`version_to_restore`] what it should be), and progress.rs the state
//! each decision leads to; [`control`] an operator's pause, resume and promote.

pub mod control;
mod decide;
mod progress;
mod reconcile;
mod start;

pub use decide::{decide, decide_allocating};
pub use reconcile::{desired_alias, reconcile, version_to_restore};
pub use start::{begin, current_version_to_read, preflight, Check, Observed};

use crate::marker::Marker;
use crate::validate::InvalidField;

pub(crate) use reconcile::marker_matches_alias;

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
    /// The current step's weights are allocated (provisioned concurrency `READY`): its hold,
    /// and with it the judgement of the step, starts now. Nothing is written.
    StartHold,
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
    Resume(Box<Marker>),
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
    /// The target version is not `Active` yet (still `Pending` after any wait): try again later.
    #[error("{0}")]
    NotReady(String),
}

/// Whether the alias is still what this rollout left it as.
#[derive(Debug, Clone, PartialEq)]
pub enum AliasCheck {
    Ours,
    /// It carries later progress of this same rollout: the input was a replay.
    Replayed(Marker),
    /// Only an operator changed it: this rollout's own marker, at the same step with the same
    /// versions and routing, now paused, resumed or promoted. Adopted, never interference.
    Controlled(Marker),
    /// Someone else put it back on the current version (alarm-rollback, a person).
    RestoredToCurrent,
    /// Someone else changed it: never overwrite their change.
    ChangedByOthers(String),
}

#[cfg(test)]
mod tests;
