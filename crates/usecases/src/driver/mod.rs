//! Carries out the engine's decisions against the adapters: observe, decide, write the alias
//! (only with the RevisionId last seen), then notify. Rollback first, notification second.

use chrono::{DateTime, Utc};

use crate::ports::AlarmSource;
use crate::ports::Notifier;
use crate::ports::{AliasError, AliasStore};
use rollout_core::engine::{self, AliasCheck, Decision, Refusal, Start};
use rollout_core::plan::Plan;
use rollout_core::{AlarmVerdict, AliasState, Marker};
use rollout_core::{EventKind, Notification};
use rollout_core::{InvalidField, Rollout, Spec, Status};

mod stop;

pub use stop::{StopRequest, Stopped};

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
            AliasError::NotFound { function, alias } => DriveError::Invalid(InvalidField::new(
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
    pub notifier: &'a dyn Notifier,
    /// Who acts, as named in notifications: `traffic-shifter`, `rollout-cli`, …
    pub source: &'a str,
    /// Alarms watched for every rollout, on top of the spec's own.
    pub extra_alarms: &'a [String],
    /// The topic used when a spec names none.
    pub default_topic: Option<&'a str>,
}

impl Driver<'_> {
    /// Pre-flight checks, then the first step.
    pub async fn start(
        &self,
        spec: &Spec,
        rollout_id: String,
        now: DateTime<Utc>,
    ) -> Result<Stepped, DriveError> {
        let plan = spec.validate()?;
        let alias = self.aliases.get(&spec.function_name, &spec.alias).await?;
        let target = self
            .aliases
            .version(&spec.function_name, &spec.target_version)
            .await?;
        let verdicts = self.alarms.verdicts(&self.alarm_names(spec)).await;
        let decision =
            match engine::begin(spec, &plan, &alias, &target, &verdicts).map_err(|r| match r {
                Refusal::Invalid(field) => DriveError::Invalid(field),
                other => DriveError::Refused(other),
            })? {
                Start::Begin(decision) => decision,
                Start::AlreadyLive => {
                    let mut done =
                        Rollout::started(spec, &plan, rollout_id, alias.version.clone(), now);
                    // Nothing moved: there is no version this rollout came from.
                    done.spec.current_version = spec.current_version.clone();
                    done.weight = 1.0;
                    done.alias_revision_id = alias.revision_id;
                    done.end(
                        Status::Succeeded,
                        format!("version {} is already live", spec.target_version),
                    );
                    return Ok(Stepped::quiet(done));
                }
                Start::Resume(marker) => {
                    let mut resumed = Rollout::started(
                        spec,
                        &plan,
                        marker.rollout_id.clone(),
                        marker.from_version.clone(),
                        now,
                    );
                    resumed.reason = None;
                    return Ok(Stepped::quiet(
                        resumed.replayed(&marker, &plan, &alias, now),
                    ));
                }
            };
        let started = Rollout::started(spec, &plan, rollout_id, alias.version.clone(), now);
        let written = self
            .aliases
            .update(
                &spec.function_name,
                &spec.alias,
                &rollout_core::alias::desired_alias(&started),
                &alias.revision_id,
            )
            .await
            .map_err(|e| match e {
                AliasError::Conflict => DriveError::Refused(Refusal::Conflict(
                    "the alias changed while the rollout was starting".into(),
                )),
                other => other.into(),
            })?;
        let mut started = started;
        started.alias_revision_id = written.revision_id;
        let kind = if decision == (Decision::Promote { step_index: 0 })
            && started.status == Status::Succeeded
        {
            EventKind::Succeeded
        } else {
            EventKind::Started
        };
        let warning = self.notify(kind, &started, verdicts, now).await;
        Ok(Stepped {
            rollout: started,
            warning,
        })
    }

    /// One step of a rollout in flight: check alarms, then shift, promote, hold or roll back.
    pub async fn step(&self, rollout: &Rollout, now: DateTime<Utc>) -> Result<Stepped, DriveError> {
        if rollout.status.is_terminal() {
            // An ended rollout is only ever reported back, whatever else it says.
            return Ok(Stepped::quiet(rollout.clone()));
        }
        let plan = rollout.spec.validate()?;
        if rollout.spec.current_version.is_none() {
            return Err(InvalidField::new(
                "currentVersion",
                "a rollout state must carry the version it started from",
            )
            .into());
        }
        let verdicts = self.alarms.verdicts(&self.alarm_names(&rollout.spec)).await;
        let decision = engine::decide(rollout, &plan, &verdicts, now);
        let (function, alias_name) = (&rollout.spec.function_name, &rollout.spec.alias);
        if let Decision::Wait { .. } = decision {
            let alias = self.aliases.get(function, alias_name).await?;
            return match engine::reconcile(rollout, &plan, &alias) {
                AliasCheck::Ours => Ok(Stepped::quiet(rollout.after(&decision, &plan, now))),
                check => {
                    self.foreign(rollout, &plan, check, &alias, verdicts, now)
                        .await
                }
            };
        }
        let mut next = rollout.after(&decision, &plan, now);
        match self
            .aliases
            .update(
                function,
                alias_name,
                &rollout_core::alias::desired_alias(&next),
                &rollout.alias_revision_id,
            )
            .await
        {
            Ok(written) => next.alias_revision_id = written.revision_id,
            Err(AliasError::Conflict) => {
                let alias = self.aliases.get(function, alias_name).await?;
                let check = engine::reconcile(rollout, &plan, &alias);
                return self
                    .foreign(rollout, &plan, check, &alias, verdicts, now)
                    .await;
            }
            Err(other) => return Err(other.into()),
        }
        let kind = match (&decision, next.status) {
            (Decision::RollBack { .. }, _) => EventKind::RolledBack,
            (_, Status::Succeeded) => EventKind::Succeeded,
            _ => EventKind::Shifted,
        };
        let warning = self.notify(kind, &next, verdicts, now).await;
        Ok(Stepped {
            rollout: next,
            warning,
        })
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

    /// Tells people a rollout could not go on (an AWS error its driver gave up on), leaving
    /// the alias as it is; best effort, since the failure is already being reported.
    pub async fn report_failure(
        &self,
        rollout: &Rollout,
        reason: String,
        now: DateTime<Utc>,
    ) -> Rollout {
        let mut failed = rollout.clone();
        failed.end(Status::Failed, reason);
        // Best effort: `notify` logs a lost notice, and the failure is being reported anyway.
        let _ = self
            .notify(EventKind::Failed, &failed, Vec::new(), now)
            .await;
        failed
    }

    fn alarm_names(&self, spec: &Spec) -> Vec<String> {
        let mut names = spec.alarms.clone();
        for extra in self.extra_alarms {
            if !names.contains(extra) {
                names.push(extra.clone());
            }
        }
        names
    }

    /// Publishes one event for `rollout`; runs after the alias write, so a failure here never
    /// blocks or undoes it: it comes back as the warning the caller reports once the alias is
    /// safe.
    async fn notify(
        &self,
        kind: EventKind,
        rollout: &Rollout,
        alarms: Vec<AlarmVerdict>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        tracing::info!(event = kind.as_str(), rollout = %rollout.rollout_id, weight = rollout.weight, status = rollout.status.as_str(), "rollout event");
        let topic = rollout
            .spec
            .notification_topic_arn
            .as_deref()
            .or(self.default_topic)?;
        let spec = &rollout.spec;
        let note = Notification::new(
            kind,
            &rollout.rollout_id,
            &spec.function_name,
            &spec.alias,
            (
                spec.current_version.as_deref().unwrap_or_default(),
                &spec.target_version,
            ),
            rollout.weight,
            rollout.status.as_str(),
            rollout.reason.clone(),
            alarms,
            now,
            self.source,
        );
        self.publish(topic, &note).await
    }

    /// Sends one notification; a failure is logged and returned as a warning.
    async fn publish(&self, topic: &str, note: &Notification) -> Option<String> {
        let message = self.notifier.publish(topic, note).await.err()?;
        tracing::error!(%message, event = note.event, "alias is safe; publishing the notification failed");
        Some(format!(
            "{}, but the notification could not be published: {message}",
            note.status
        ))
    }
}

/// A rollout id from the clock: sortable, short, and unique enough per alias.
pub fn new_rollout_id(now: DateTime<Utc>) -> String {
    format!("r-{}", now.format("%Y%m%dT%H%M%S%3fZ"))
}

#[cfg(test)]
mod tests;
