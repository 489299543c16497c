//! Carries out the engine's decisions against the adapters: observe, decide, write the alias
//! (only with the RevisionId last seen), then notify. Rollback first, notification second.

use chrono::{DateTime, Utc};

use crate::announce::Announcer;
use crate::ports::AlarmSource;
use crate::ports::MetricsSink;
use crate::ports::MetricsSource;
use crate::ports::Topics;
use crate::ports::{AliasError, AliasStore};
use crate::readiness::{self, ReadyWait, Waited};
use rollout_core::engine::{self, AliasCheck, Decision, Observed, Refusal, Start};
use rollout_core::plan::Plan;
use rollout_core::EventKind;
use rollout_core::{AlarmVerdict, AliasState, Marker};
use rollout_core::{
    InvalidField, ProvisionedConcurrency, Provisioning, PublishedVersion, Rollout, Spec, Status,
};

mod calls;
mod control;
mod drive;
mod notify;
mod stop;
pub(crate) mod weights;

pub use control::{ControlError, ControlRequest, Controlled};
pub(crate) use drive::drive;
pub use drive::{next_check, Pacer, Sleeping};
pub use stop::{StopRequest, StopScope, Stopped};
pub use weights::WeightLedger;

use crate::patience::Patience;
pub(crate) use calls::RollbackEnd;

/// What a start observed, owned (see [`Driver::observe`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub alias: AliasState,
    pub target: Waited,
    pub current: Option<PublishedVersion>,
    pub provisioned: Option<ProvisionedConcurrency>,
    pub alarms: Vec<AlarmVerdict>,
}

impl Observation {
    /// As the engine takes it.
    pub fn observed(&self) -> Observed<'_> {
        Observed {
            alias: &self.alias,
            target: &self.target.version,
            waited_seconds: self.target.waited.as_secs(),
            current: self.current.as_ref(),
            provisioned: self.provisioned.as_ref(),
            alarms: &self.alarms,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    #[error(transparent)]
    Refused(Refusal),
    #[error(transparent)]
    Alias(AliasError),
}

/// What a start or a step did: the rollout as it now stands and, when telling people failed
/// after the alias was safe, a warning saying so. Never an error: the alias moved.
#[derive(Debug, Clone, PartialEq)]
pub struct Stepped {
    pub rollout: Rollout,
    pub warning: Option<String>,
}

impl Stepped {
    fn quiet(rollout: Rollout) -> Stepped {
        Stepped {
            rollout,
            warning: None,
        }
    }
}

impl From<AliasError> for DriveError {
    fn from(e: AliasError) -> Self {
        match e {
            AliasError::Invalid(f) => DriveError::Invalid(f),
            AliasError::NotFound {
                function,
                function_missing: true,
                ..
            } => DriveError::Invalid(InvalidField::new(
                "functionName",
                format!("function {function} does not exist"),
            )),
            AliasError::NotFound {
                function, alias, ..
            } => DriveError::Invalid(InvalidField::new(
                "alias",
                format!("alias {alias} of function {function} does not exist"),
            )),
            other => DriveError::Alias(other),
        }
    }
}

pub struct Driver<'a> {
    pub aliases: &'a dyn AliasStore,
    pub alarms: &'a dyn AlarmSource,
    /// Per-version metrics, read when a spec has `analysis`.
    pub metrics: &'a dyn MetricsSource,
    /// The SNS topics rollouts name, checked before a start counts on one.
    pub topics: &'a dyn Topics,
    /// Every channel events go to (SNS, EventBridge, AWS Chatbot, a webhook).
    pub announcer: Announcer<'a>,
    /// lambda-rollout's own metrics: the `TrafficWeight` of each rollout.
    pub own_metrics: &'a dyn MetricsSink,
    /// Who acts, as named in notifications: `traffic-shifter`, `rollout-cli`, …
    pub source: &'a str,
    /// Alarms watched for every rollout, on top of the spec's own.
    pub extra_alarms: &'a [String],
    /// The topic used when a spec names none.
    pub default_topic: Option<&'a str>,
    /// How long calls that failed in a way that may pass are tried again.
    pub patience: Patience,
    /// Why a rollback is being written, while it is: a driver asked to stop then finishes it
    /// first (`rollout run` on a signal), and names it if it is stopped anyway.
    pub rolling_back: RollingBack,
    /// Weights applied that a sink costing a call has not been sent yet, kept for the next
    /// step with a call to spare (see [`WeightLedger`]).
    pub owed_weights: WeightLedger,
}

/// Set while a rollback is under way (see [`Driver::rolling_back`]); left set when the
/// rollback was cancelled half-way, so that whoever cancelled it can say so.
#[derive(Debug, Default)]
pub struct RollingBack(std::sync::Mutex<Option<String>>);

impl RollingBack {
    /// Why the alias is being put back, while it is.
    pub fn why(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set(&self, why: Option<String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = why;
    }
}

impl Driver<'_> {
    /// What a start decides on: the alias, the target version (waited for while `Pending`,
    /// as `ready` allows), the current version when the alias will be split, the alias's
    /// provisioned concurrency and the alarms. Reads only; `rollout check` shows the same.
    pub async fn observe(
        &self,
        spec: &Spec,
        plan: &Plan,
        ready: &ReadyWait<'_>,
    ) -> Result<Observation, DriveError> {
        let (function, alias_name) = (&spec.function_name, &spec.alias);
        let mut alias = self.read_alias(function, alias_name).await?;
        let target =
            readiness::wait_until_ready(self.aliases, function, &spec.target_version, ready)
                .await?;
        if !target.waited.is_zero() {
            // Time passed: the alias may have moved too.
            alias = self.read_alias(function, alias_name).await?;
        }
        let current = match engine::current_version_to_read(spec, plan, &alias) {
            Some(version) => Some(self.aliases.version(function, version).await?),
            None => None,
        };
        let provisioned = self.read_provisioned(function, alias_name).await?;
        let alarms = self.read_alarms(&self.alarm_names(spec)).await;
        Ok(Observation {
            alias,
            target,
            current,
            provisioned,
            alarms,
        })
    }

    /// Pre-flight checks (waiting for a `Pending` target as `ready` allows), then the first
    /// step.
    pub async fn start(
        &self,
        spec: &Spec,
        rollout_id: String,
        now: DateTime<Utc>,
        ready: &ReadyWait<'_>,
    ) -> Result<Stepped, DriveError> {
        let plan = spec.validate()?;
        let observation = self.observe(spec, &plan, ready).await?;
        self.check_topic(spec).await?;
        let now = now + chrono::Duration::from_std(observation.target.waited).unwrap_or_default();
        let seen = observation.observed();
        let alias = &observation.alias;
        let verdicts = observation.alarms.clone();
        let has_provisioned = observation.provisioned.is_some();
        let decision = match engine::begin(spec, &plan, &seen).map_err(|r| match r {
            Refusal::Invalid(field) => DriveError::Invalid(field),
            other => DriveError::Refused(other),
        })? {
            Start::Begin(decision) => decision,
            Start::AlreadyLive => {
                let mut done = Rollout::started(
                    spec,
                    &plan,
                    rollout_id,
                    alias.version.clone(),
                    has_provisioned,
                    now,
                );
                // Nothing moved: there is no version this rollout came from.
                done.spec.current_version = spec.current_version.clone();
                done.weight = 1.0;
                done.alias_revision_id = alias.revision_id.clone();
                done.end(
                    Status::Succeeded,
                    format!("version {} is already live", spec.target_version),
                );
                return Ok(Stepped::quiet(done));
            }
            // A member of a release set moves with its set, never alone (a one-alias write
            // would drop the set's links from its marker).
            Start::Resume(marker) if marker.set.is_some() => {
                let set = marker.set.as_ref().map(|l| l.name.as_str()).unwrap_or("?");
                return Err(DriveError::Refused(Refusal::Conflict(format!(
                    "alias {} is a member of release set {set}, whose rollout {} is in progress: it moves with its set (`rollout status` shows it)",
                    spec.alias, marker.rollout_id
                ))));
            }
            Start::Resume(marker) => {
                let resumed = self.resumed_from(spec, &plan, &marker, alias, has_provisioned, now);
                // Still on its first step: the start's own alert may never have gone out
                // (the same eventId, so a subscriber drops it if it did).
                let warning = match marker.step_index {
                    0 => {
                        self.notify(EventKind::Started, &resumed, verdicts, now)
                            .await
                    }
                    _ => None,
                };
                return Ok(Stepped {
                    rollout: resumed,
                    warning,
                });
            }
        };
        let mut started = Rollout::started(
            spec,
            &plan,
            rollout_id,
            alias.version.clone(),
            has_provisioned,
            now,
        );
        started.alias_revision_id = alias.revision_id.clone();
        let written = match self.write(&started, &started).await {
            Ok(written) => written,
            // The write may have landed with its answer lost: if the alias now carries this
            // very start, it is ours.
            Err(AliasError::Conflict) => {
                let now_alias = self.read_alias(&spec.function_name, &spec.alias).await?;
                match now_alias.marker() {
                    Some(m)
                        if m.rollout_id == started.rollout_id
                            && m.step_index == 0
                            && m.describes(&now_alias) =>
                    {
                        now_alias
                    }
                    _ => {
                        return Err(DriveError::Refused(Refusal::Conflict(
                            "the alias changed while the rollout was starting".into(),
                        )))
                    }
                }
            }
            Err(other) => return Err(other.into()),
        };
        started.alias_revision_id = written.revision_id;
        let kind = if decision == (Decision::Promote { step_index: 0 })
            && started.status == Status::Succeeded
        {
            EventKind::Succeeded
        } else {
            EventKind::Started
        };
        let warning = self.notify(kind, &started, verdicts, now).await;
        // The start has no budget of steps to keep: its weight goes out at once.
        self.publish_weights(&started, now).await;
        Ok(Stepped {
            rollout: started,
            warning,
        })
    }

    /// One step of a rollout in flight: check alarms, then shift, promote, hold or roll back;
    /// then the weight for the `TrafficWeight` metric: sent, or, where publishing is an AWS
    /// call, kept for the next step with a call to spare (see the `weights` module).
    pub async fn step(&self, rollout: &Rollout, now: DateTime<Utc>) -> Result<Stepped, DriveError> {
        if rollout.status.is_terminal() {
            // An ended rollout is only ever reported back, whatever else it says.
            return Ok(Stepped::quiet(rollout.clone()));
        }
        let stepped = self.step_alias(rollout, now).await?;
        Ok(self.record_weight(rollout, stepped, now).await)
    }

    /// The step itself, as [`Driver::step`] says, of a rollout still in progress.
    async fn step_alias(
        &self,
        rollout: &Rollout,
        now: DateTime<Utc>,
    ) -> Result<Stepped, DriveError> {
        let plan = rollout.validate()?;
        let (function, alias_name) = (&rollout.spec.function_name, &rollout.spec.alias);
        let (verdicts, judgement, decision) =
            if rollout.provisioned_concurrency == Some(Provisioning::Allocating) {
                // The split is not judged before the new weights are allocated, but a
                // breach rolls back whatever the allocation's state.
                let verdicts = self.read_alarms(&self.alarm_names(&rollout.spec)).await;
                // A breach decides alone: the allocation is not read (the budget's call goes
                // to the rollback).
                let seen = match rollout_core::alarms::failing(&verdicts) {
                    Some(_) => None,
                    None => self.read_provisioned(function, alias_name).await?,
                };
                let decision = engine::decide_allocating(rollout, &verdicts, seen.as_ref(), now);
                (verdicts, None, decision)
            } else {
                let verdicts = self.read_alarms(&self.alarm_names(&rollout.spec)).await;
                let judgement = self.judge(rollout, now).await;
                let decision = engine::decide(rollout, &plan, &verdicts, judgement.as_ref(), now);
                (verdicts, judgement, decision)
            };
        self.carry_out(rollout, &plan, verdicts, judgement, decision, now)
            .await
    }

    /// Carries out `decision`, made on `verdicts` and `judgement`: reads the alias to hold, or
    /// writes it to shift, promote or roll back; then tells people.
    pub(crate) async fn carry_out(
        &self,
        rollout: &Rollout,
        plan: &Plan,
        verdicts: Vec<AlarmVerdict>,
        judgement: Option<rollout_core::Judgement>,
        decision: Decision,
        now: DateTime<Utc>,
    ) -> Result<Stepped, DriveError> {
        let (function, alias_name) = (&rollout.spec.function_name, &rollout.spec.alias);
        let plan = plan.clone();
        if let Decision::Wait { .. } | Decision::StartHold = decision {
            let alias = self.read_alias(function, alias_name).await?;
            return match engine::reconcile(rollout, &plan, &alias) {
                AliasCheck::Ours => Ok(Stepped::quiet(
                    rollout.after_judged(&decision, &plan, judgement, now),
                )),
                check => {
                    self.foreign(rollout, &plan, check, &alias, verdicts, now)
                        .await
                }
            };
        }
        let mut next = rollout.after_judged(&decision, &plan, judgement, now);
        let kind = match (&decision, next.status) {
            (Decision::RollBack { .. }, _) => EventKind::RolledBack,
            (_, Status::Succeeded) => EventKind::Succeeded,
            _ => EventKind::Shifted,
        };
        if let Decision::RollBack { .. } = decision {
            return self.roll_back(rollout, &plan, next, verdicts, now).await;
        }
        match self.write(rollout, &next).await {
            Ok(written) => next.alias_revision_id = written.revision_id,
            Err(AliasError::Conflict) => {
                let alias = self.read_alias(function, alias_name).await?;
                match engine::reconcile(rollout, &plan, &alias) {
                    // Our own write, its answer lost (or this input replayed): carry on, and
                    // send the alert it owes under the same eventId.
                    // An operator may have paused or promoted the step since: taken too.
                    AliasCheck::Replayed(m)
                        if m.step_index == next.step_index
                            && m.status == next.status
                            && (m.by.is_none() || m.control.is_some()) =>
                    {
                        next.alias_revision_id = alias.revision_id;
                        next.adopt_control(&m, now);
                    }
                    check => {
                        return self
                            .foreign(rollout, &plan, check, &alias, verdicts, now)
                            .await
                    }
                }
            }
            Err(other) => return Err(other.into()),
        }
        let warning = self.notify(kind, &next, verdicts, now).await;
        Ok(Stepped {
            rollout: next,
            warning,
        })
    }

    /// Rolls back (see [`Driver::write_rollback`]) and tells people: `rollout.rolled_back`
    /// with the real reason, or, only when the bound passed, `rollout.failed` saying traffic
    /// is still split and where.
    async fn roll_back(
        &self,
        rollout: &Rollout,
        plan: &Plan,
        mut rolled_back: Rollout,
        verdicts: Vec<AlarmVerdict>,
        now: DateTime<Utc>,
    ) -> Result<Stepped, DriveError> {
        self.rolling_back.set(rolled_back.reason.clone());
        let end = self.write_rollback(rollout, plan, &rolled_back).await;
        self.rolling_back.set(None);
        match end {
            RollbackEnd::Written { revision } => {
                rolled_back.alias_revision_id = revision;
                let warning = self
                    .notify(EventKind::RolledBack, &rolled_back, verdicts, now)
                    .await;
                Ok(Stepped {
                    rollout: rolled_back,
                    warning,
                })
            }
            RollbackEnd::Foreign(found) => {
                let (check, alias) = *found;
                self.foreign(rollout, plan, check, &alias, verdicts, now)
                    .await
            }
            RollbackEnd::GaveUp { error } => {
                let spec = &rollout.spec;
                let mut failed = rollout.clone();
                failed.end(
                    Status::Failed,
                    format!(
                        "could not roll back ({error}); traffic is still split: {} on version {}, the rest on version {}. Why it was rolling back: {}. Run `rollout abort --function {} --alias {}` once AWS answers",
                        rollout_core::plan::format_percent(rollout.weight),
                        spec.target_version,
                        spec.current_version.as_deref().unwrap_or("?"),
                        rolled_back.reason.as_deref().unwrap_or("?"),
                        spec.function_name,
                        spec.alias,
                    ),
                );
                failed.weight = rollout.weight;
                let warning = self.notify(EventKind::Failed, &failed, verdicts, now).await;
                Ok(Stepped {
                    rollout: failed,
                    warning,
                })
            }
        }
    }

    /// The alias is not as this rollout left it: report a replay, or stop without writing.
    async fn foreign(
        &self,
        rollout: &Rollout,
        plan: &Plan,
        check: AliasCheck,
        alias: &AliasState,
        verdicts: Vec<AlarmVerdict>,
        now: DateTime<Utc>,
    ) -> Result<Stepped, DriveError> {
        let mut next = rollout.clone();
        next.alias_revision_id = alias.revision_id.clone();
        match check {
            // An operator's pause, resume or promote of it: only that is taken.
            AliasCheck::Controlled(marker) => {
                Ok(Stepped::quiet(rollout.controlled(&marker, alias, now)))
            }
            // Later progress of this rollout.
            AliasCheck::Ours | AliasCheck::Replayed(_) => {
                let marker = alias.marker().unwrap_or_else(|| Marker::of(rollout));
                Ok(Stepped::quiet(rollout.replayed(&marker, plan, alias, now)))
            }
            AliasCheck::RestoredToCurrent => {
                // Whoever restored it (alarm-rollback, a person) has told people already.
                next.weight = 0.0;
                next.end(
                    Status::RolledBack,
                    format!(
                        "alias {} was restored to version {} by someone else",
                        rollout.spec.alias, alias.version
                    ),
                );
                Ok(Stepped::quiet(next))
            }
            AliasCheck::ChangedByOthers(reason) => {
                next.end(Status::Aborted, reason);
                // Nothing of ours to make safe, and nothing a retry could fix: the state
                // answers; a lost notice is logged by `notify`.
                let _ = self.notify(EventKind::Aborted, &next, verdicts, now).await;
                Ok(Stepped::quiet(next))
            }
        }
    }
}

/// A rollout id from the clock: sortable, short, and unique enough per alias.
pub fn new_rollout_id(now: DateTime<Utc>) -> String {
    format!("r-{}", now.format("%Y%m%dT%H%M%S%3fZ"))
}

#[cfg(test)]
mod tests;
