//! The `TrafficWeight` metric, within the step budget: a step that moves the alias already
//! makes its three calls (alarms, alias, notification), so the weight it applied is kept in
//! the state (`unpublishedWeights`) and sent, backdated to when it was applied, by the next
//! step that has a call to spare: a check that changes nothing (2 calls, 3 with analysis), or
//! the end of the rollout (completed, rolled back, aborted), whose final weight goes out last,
//! after the notification. One PutMetricData carries them all; a failure is logged and the
//! weights are kept for the next try: the metric never blocks or fails anything.

use chrono::{DateTime, Utc};
use rollout_core::{Rollout, WeightAt};

use super::{Driver, Stepped};
use crate::ports::{Datapoint, OwnMetric};

impl Driver<'_> {
    /// After a step of `before`: keeps the weight a shift applied for later; otherwise (a
    /// check that changed nothing, or the rollout's end) sends what is owed and the weight now.
    pub(super) async fn record_weight(
        &self,
        before: &Rollout,
        mut stepped: Stepped,
        now: DateTime<Utc>,
    ) -> Stepped {
        let after = &mut stepped.rollout;
        let shifted = after.weight != before.weight || after.step_index != before.step_index;
        if shifted && !after.status.is_terminal() {
            let at = after.step_started_at.unwrap_or(now);
            after.owe_weight(at);
        } else {
            self.publish_weights(after, now).await;
        }
        stepped
    }

    /// Sends `rollout`'s owed weights and its weight now in one call; forgets the owed ones
    /// once sent.
    pub(super) async fn publish_weights(&self, rollout: &mut Rollout, now: DateTime<Utc>) {
        let points = rollout.weights_to_publish(now);
        if self.put_weights(rollout, &points).await {
            rollout.unpublished_weights.clear();
        }
    }

    /// Sends `points` as `rollout`'s alias's `TrafficWeight`; whether they went out.
    pub(super) async fn put_weights(&self, rollout: &Rollout, points: &[WeightAt]) -> bool {
        let spec = &rollout.spec;
        let points: Vec<Datapoint> = points
            .iter()
            .map(|p| traffic_weight(spec.function_short_name(), &spec.alias, p))
            .collect();
        match self.own_metrics.put(&points).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "the TrafficWeight metric could not be published; kept for the next step");
                false
            }
        }
    }
}

/// A `TrafficWeight` datapoint: the weight as a percent, 0 to 100.
pub(crate) fn traffic_weight(function: &str, alias: &str, point: &WeightAt) -> Datapoint {
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
