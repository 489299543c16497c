//! The `TrafficWeight` of every member of a set, in one put: as for one alias (see the
//! driver's `weights` module), at each change where publishing is free (inside Lambda, a log
//! line), else owed by the driver (keyed by the set's rollout id: the members move together)
//! and sent for every member at the next check with calls to spare, or at the set's end.

use chrono::{DateTime, Utc};
use rollout_core::SetRollout;

use super::SetDriver;
use crate::driver::weights::{traffic_weight, weights_to_publish};

impl SetDriver<'_> {
    /// After a step of `before` that left `after`.
    pub(super) async fn record_weights(
        &self,
        before: &SetRollout,
        after: &SetRollout,
        now: DateTime<Utc>,
    ) {
        let home = self.home;
        let moved = after.weight != before.weight || after.step_index != before.step_index;
        let (costly, ended) = (home.own_metrics.costs_a_call(), after.status.is_terminal());
        let ledger = &home.owed_weights;
        if moved && !ended && costly {
            let view = after.view();
            ledger.owe(&view, view.step_started_at.unwrap_or(now));
        } else if !costly || ended || !ledger.owed(&after.rollout_id).is_empty() {
            self.publish_weights(after, now).await;
        }
    }

    /// Every member's weight now, with what was owed, in one put; a failure is logged.
    pub(super) async fn publish_weights(&self, set: &SetRollout, now: DateTime<Utc>) {
        let home = self.home;
        let owed = match home.own_metrics.costs_a_call() {
            true => home.owed_weights.owed(&set.rollout_id),
            false => Vec::new(),
        };
        let mut points = Vec::new();
        for (i, m) in set.members.iter().enumerate() {
            let member = set.member(i);
            // A member left as someone else set it is theirs, not the set's, to show.
            let owed = match m.status {
                Some(_) => Vec::new(),
                None => owed.clone(),
            };
            let (function, alias) = (member.spec.function_short_name(), &member.spec.alias);
            points.extend(
                weights_to_publish(owed, &member, now)
                    .iter()
                    .map(|p| traffic_weight(function, alias, p)),
            );
        }
        match home.own_metrics.put(&points).await {
            Ok(()) => home.owed_weights.forget(&set.rollout_id),
            Err(e) => {
                tracing::warn!(error = %e, set = %set.set, "could not publish TrafficWeight");
                if set.status.is_terminal() {
                    home.owed_weights.forget(&set.rollout_id);
                }
            }
        }
    }
}
