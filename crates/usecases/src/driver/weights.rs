//! The `TrafficWeight` metric, at each change and within the step budget.
//!
//! Inside Lambda publishing is free (a line in CloudWatch's embedded metric format on stdout,
//! which CloudWatch Logs turns into the metric): every step sends the weight it leaves the
//! alias at, the moment it does, the end of the rollout included.
//!
//! Where it is an AWS call (the CLI's PutMetricData), a step that moves the alias already
//! makes its three calls (alarms, alias, notification), so the weight it applied is kept, in
//! memory (`Rollout::unpublished_weights`), and sent, backdated to when it was applied, by the
//! next step that has a call to spare: a check that changes nothing (2 calls, 3 with
//! analysis), or the end of the rollout (completed, rolled back, aborted), whose final weight
//! goes out last, after the notification, one call over. One PutMetricData carries them all.
//!
//! Either way a failure is logged (a costly sink keeps what it owed for its next try): the
//! metric never blocks or fails anything.

use chrono::{DateTime, Utc};
use rollout_core::{Rollout, WeightAt};

use super::{Driver, Stepped};
use crate::ports::{Datapoint, OwnMetric};

impl Driver<'_> {
    /// After a step of `before`: a sink that costs a call keeps the weight a shift applied
    /// for the next check, which sends it (and nothing when nothing is owed); a free sink
    /// gets the weight at every step, and every sink the rollout's end.
    pub(super) async fn record_weight(
        &self,
        before: &Rollout,
        mut stepped: Stepped,
        now: DateTime<Utc>,
    ) -> Stepped {
        let after = &mut stepped.rollout;
        let shifted = after.weight != before.weight || after.step_index != before.step_index;
        let (costly, ended) = (self.own_metrics.costs_a_call(), after.status.is_terminal());
        if shifted && !ended && costly {
            let at = after.step_started_at.unwrap_or(now);
            after.owe_weight(at);
        // A costly check with nothing owed sends nothing: one call per change, not per poll.
        } else if !costly || ended || !after.unpublished_weights.is_empty() {
            self.publish_weights(after, now).await;
        }
        stepped
    }

    /// Sends `rollout`'s owed weights and its weight now in one put (a costly sink, which may
    /// have missed it, also gets the current step's weight from its start); forgets the owed
    /// ones once sent.
    pub(super) async fn publish_weights(&self, rollout: &mut Rollout, now: DateTime<Utc>) {
        let points = match self.own_metrics.costs_a_call() {
            true => rollout.weights_to_publish(now),
            false => rollout.weights_owed_and_now(now),
        };
        let (function, alias) = (rollout.spec.function_short_name(), &rollout.spec.alias);
        if self.put_weights(function, alias, &points).await {
            rollout.unpublished_weights.clear();
        }
    }

    /// Sends `points` as the `TrafficWeight` of `function:alias` (the function's short
    /// name); whether they went out. A failure is logged, never an error.
    pub(super) async fn put_weights(
        &self,
        function: &str,
        alias: &str,
        points: &[WeightAt],
    ) -> bool {
        let points: Vec<Datapoint> = points
            .iter()
            .map(|p| traffic_weight(function, alias, p))
            .collect();
        match self.own_metrics.put(&points).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "the TrafficWeight metric could not be published");
                false
            }
        }
    }
}

/// A `TrafficWeight` datapoint: the weight as a percent, 0 to 100.
fn traffic_weight(function: &str, alias: &str, point: &WeightAt) -> Datapoint {
    let percent = if point.weight.is_finite() {
        (point.weight * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    Datapoint {
        metric: OwnMetric::TrafficWeight,
        function: function.into(),
        alias: alias.into(),
        // Rounded like the alias's weights: 10, not 10.000000000000002.
        value: (percent * 1e6).round() / 1e6,
        at: point.at,
    }
}
