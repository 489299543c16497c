//! The driver's AWS calls, made patiently: a call that failed in a way that may pass is tried
//! again with backoff until its bound ([`Patience`]). Reads give up after a short bound; the
//! alarms then fail closed. A rollback keeps going for minutes, re-reading the alias on a
//! conflict to tell its own lost write from someone else's change.

use rollout_core::alias::describe_alias;
use rollout_core::engine::desired_alias;
use rollout_core::{
    AlarmVerdict, AliasCheck, AliasState, Marker, Plan, ProvisionedConcurrency, Rollout, Status,
};

use super::Driver;
pub(crate) use crate::patience::retrying;
use crate::ports::AliasError;

/// How many times in a row a rollback may find the alias changed under it before it stops
/// taking the changes for its own rollout's progress.
const MAX_CONFLICTS: u32 = 10;

/// How a rollback ended.
pub(crate) enum RollbackEnd {
    /// The alias is back on the current version by this rollout's write (`revision`).
    Written { revision: String },
    /// The alias is no longer this rollout's to roll back (someone else restored or changed
    /// it, or the rollout had already ended): what reconciling found.
    Foreign(Box<(AliasCheck, AliasState)>),
    /// The bound passed, or the write was refused for good: traffic is still split.
    GaveUp { error: AliasError },
}

impl Driver<'_> {
    /// The named alarms, read patiently; what could not be read fails closed.
    pub(crate) async fn read_alarms(&self, names: &[String]) -> Vec<AlarmVerdict> {
        crate::patience::read_alarms(self.alarms, names, &self.patience).await
    }

    /// The current step's judgement, when the spec asks for one (one metrics read).
    pub(crate) async fn judge(
        &self,
        rollout: &Rollout,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<rollout_core::Judgement> {
        let analysis = rollout.spec.analysis.as_ref()?;
        Some(
            crate::patience::read_judgement(self.metrics, rollout, analysis, &self.patience, now)
                .await,
        )
    }

    /// The alias, read patiently.
    pub(crate) async fn read_alias(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<AliasState, AliasError> {
        let mut backoff = self.patience.backoff(self.patience.reads);
        retrying(&mut backoff, async || {
            self.aliases.get(function, alias).await
        })
        .await
    }

    /// The alias's provisioned concurrency, read patiently.
    pub(crate) async fn read_provisioned(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<ProvisionedConcurrency>, AliasError> {
        let mut backoff = self.patience.backoff(self.patience.reads);
        retrying(&mut backoff, async || {
            self.aliases.provisioned_concurrency(function, alias).await
        })
        .await
    }

    /// Writes what `next` stands for over the revision `rollout` last saw, patiently.
    pub(crate) async fn write(
        &self,
        rollout: &Rollout,
        next: &Rollout,
    ) -> Result<AliasState, AliasError> {
        let (function, alias) = (&rollout.spec.function_name, &rollout.spec.alias);
        let update = desired_alias(next);
        let mut backoff = self.patience.backoff(self.patience.reads);
        retrying(&mut backoff, async || {
            self.aliases
                .update(function, alias, &update, &rollout.alias_revision_id)
                .await
        })
        .await
    }

    /// Puts the alias back on the current version as `rolled_back` says, and does not give
    /// up: throttling and 5xx are retried until the rollback bound; a conflict re-reads the
    /// alias, and a write of our own whose answer was lost counts as done.
    pub(crate) async fn write_rollback(
        &self,
        rollout: &Rollout,
        plan: &Plan,
        rolled_back: &Rollout,
    ) -> RollbackEnd {
        let (function, alias_name) = (&rollout.spec.function_name, &rollout.spec.alias);
        let update = desired_alias(rolled_back);
        let mut backoff = self.patience.backoff(self.patience.rollback);
        let mut revision = rollout.alias_revision_id.clone();
        let mut conflicts = 0;
        loop {
            let written = retrying(&mut backoff, async || {
                self.aliases
                    .update(function, alias_name, &update, &revision)
                    .await
            })
            .await;
            let error = match written {
                Ok(alias) => {
                    return RollbackEnd::Written {
                        revision: alias.revision_id,
                    }
                }
                Err(AliasError::Conflict) if conflicts < MAX_CONFLICTS => {
                    conflicts += 1;
                    AliasError::Conflict
                }
                Err(error) => return RollbackEnd::GaveUp { error },
            };
            let alias = match retrying(&mut backoff, async || {
                self.aliases.get(function, alias_name).await
            })
            .await
            {
                Ok(alias) => alias,
                Err(error) => return RollbackEnd::GaveUp { error },
            };
            match rollout_core::engine::reconcile(rollout, plan, &alias) {
                // Our rollback landed; its answer was lost (a stop by alarm-rollback or a
                // person carries `by=` and has told people itself).
                AliasCheck::Replayed(m) if m.status == Status::RolledBack && m.by.is_none() => {
                    return RollbackEnd::Written {
                        revision: alias.revision_id,
                    }
                }
                // Still this rollout, moved on by a replayed input or paused by an operator
                // (a pause never stops a rollback): roll that back.
                AliasCheck::Replayed(Marker {
                    status: Status::InProgress,
                    ..
                })
                | AliasCheck::Controlled(_) => {
                    tracing::warn!(alias = %describe_alias(&alias), %error, "the alias moved on within this rollout; rolling that back");
                    revision = alias.revision_id;
                }
                AliasCheck::Replayed(m) if m.status == Status::RolledBack => {
                    return RollbackEnd::Foreign(Box::new((AliasCheck::RestoredToCurrent, alias)))
                }
                check => return RollbackEnd::Foreign(Box::new((check, alias))),
            }
        }
    }
}
