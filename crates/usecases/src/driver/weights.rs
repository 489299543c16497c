//! The `TrafficWeight` metric, at each change and within the step budget.
//!
//! Inside Lambda publishing is free (a line in CloudWatch's embedded metric format on stdout,
//! which CloudWatch Logs turns into the metric): every step sends the weight it leaves the
//! alias at, the moment it does, the end of the rollout included.
//!
//! Where it is an AWS call (the CLI's PutMetricData), a step that moves the alias already
//! makes its three calls (alarms, alias, notification), so the weight it applied is kept, in
//! the driver's memory ([`WeightLedger`]; never in the state), and sent, backdated to when it
//! was applied, by the next step that has a call to spare: a check that changes nothing (2
//! calls, 3 with analysis), or the end of the rollout (completed, rolled back, aborted), whose
//! final weight goes out last, after the notification, one call over. One PutMetricData
//! carries them all.
//!
//! Either way a failure is logged (a costly sink keeps what it owed for its next try): the
//! metric never blocks or fails anything.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rollout_core::Rollout;

use super::{Driver, Stepped};
use crate::ports::{Datapoint, OwnMetric};

impl Driver<'_> {
    /// After a step of `before`: a sink that costs a call keeps the weight a shift applied
    /// for the next check, which sends it (and nothing when nothing is owed); a free sink
    /// gets the weight at every step, and every sink the rollout's end.
    pub(super) async fn record_weight(
        &self,
        before: &Rollout,
        stepped: Stepped,
        now: DateTime<Utc>,
    ) -> Stepped {
        let after = &stepped.rollout;
        let shifted = after.weight != before.weight || after.step_index != before.step_index;
        let (costly, ended) = (self.own_metrics.costs_a_call(), after.status.is_terminal());
        if shifted && !ended && costly {
            let at = after.step_started_at.unwrap_or(now);
            self.owed_weights.owe(after, at);
        // A costly check with nothing owed sends nothing: one call per change, not per poll.
        } else if !costly || ended || !self.owed_weights.owed(&after.rollout_id).is_empty() {
            self.publish_weights(after, now).await;
        }
        stepped
    }

    /// Sends `rollout`'s weight now in one put, with what a costly sink may have missed: the
    /// weights owed and the current step's weight from its start; forgets the owed ones once
    /// sent (or once the rollout has ended: no later step would send them).
    pub(super) async fn publish_weights(&self, rollout: &Rollout, now: DateTime<Utc>) {
        let id = &rollout.rollout_id;
        let points = match self.own_metrics.costs_a_call() {
            true => weights_to_publish(self.owed_weights.owed(id), rollout, now),
            // A free sink got every change as it happened: nothing is ever owed to it.
            false => vec![WeightAt {
                weight: rollout.weight,
                at: now,
            }],
        };
        let (function, alias) = (rollout.spec.function_short_name(), &rollout.spec.alias);
        if self.put_weights(function, alias, &points).await || rollout.status.is_terminal() {
            self.owed_weights.forget(id);
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

/// The most weights owed for one rollout; older ones are dropped first (the metric is a
/// picture of the rollout, never a control, and the driver's memory must stay small).
pub const MAX_UNPUBLISHED_WEIGHTS: usize = 20;

/// A weight on the target version and when it was applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightAt {
    pub weight: f64,
    pub at: DateTime<Utc>,
}

/// The weights each rollout applied that its `TrafficWeight` metric does not show yet, by
/// rollout id, at most 20 each (`MAX_UNPUBLISHED_WEIGHTS`): kept by a driver whose metric is
/// an AWS call (the CLI's PutMetricData) for the next step with a call to spare, so one
/// driver carries a rollout from step to step (`rollout run` does). Never part of the state:
/// inside Lambda the metric is a log line, sent at each change, and nothing is owed.
#[derive(Debug, Default)]
pub struct WeightLedger(Mutex<HashMap<String, Vec<WeightAt>>>);

impl WeightLedger {
    /// Keeps the weight now applied to `rollout` (at `at`) for the next step that can
    /// publish it.
    pub(crate) fn owe(&self, rollout: &Rollout, at: DateTime<Utc>) {
        let mut owed = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let weights = owed.entry(rollout.rollout_id.clone()).or_default();
        weights.push(WeightAt {
            weight: rollout.weight,
            at,
        });
        let excess = weights.len().saturating_sub(MAX_UNPUBLISHED_WEIGHTS);
        weights.drain(..excess);
    }

    /// The weights owed for the rollout `rollout_id`, oldest first.
    pub(crate) fn owed(&self, rollout_id: &str) -> Vec<WeightAt> {
        let owed = self.0.lock().unwrap_or_else(|e| e.into_inner());
        owed.get(rollout_id).cloned().unwrap_or_default()
    }

    /// Drops what was owed for the rollout `rollout_id`: sent, or never to be.
    pub(crate) fn forget(&self, rollout_id: &str) {
        let mut owed = self.0.lock().unwrap_or_else(|e| e.into_inner());
        owed.remove(rollout_id);
    }
}

/// What the metric should show, once sent by a sink that costs a call and so may have missed
/// the step's start: the weights `owed`, the current step's weight from when it was applied
/// (while in progress: an ended rollout's weight holds from its end, not from its last step's
/// start), and the weight `now`.
pub(crate) fn weights_to_publish(
    owed: Vec<WeightAt>,
    rollout: &Rollout,
    now: DateTime<Utc>,
) -> Vec<WeightAt> {
    let step_start = rollout
        .step_started_at
        .filter(|_| !rollout.status.is_terminal());
    let mut points = owed;
    points.extend(step_start.map(|at| WeightAt {
        weight: rollout.weight,
        at,
    }));
    points.push(WeightAt {
        weight: rollout.weight,
        at: now,
    });
    within_reach(points, now)
}

/// The points CloudWatch takes: it refuses a PutMetricData, and extracts no metric from a
/// log line, for a point over two weeks old or two hours ahead; one such point (a state
/// carried for weeks, a crafted one) must not keep the rest from being sent.
fn within_reach(mut points: Vec<WeightAt>, now: DateTime<Utc>) -> Vec<WeightAt> {
    points.retain(|p| {
        p.at > now - chrono::Duration::days(14) && p.at <= now + chrono::Duration::hours(2)
    });
    points
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{spec, t, RID};

    #[test]
    fn weights_owed_are_capped_and_only_those_cloudwatch_takes_are_sent() {
        let spec = spec();
        let plan = spec.validate().unwrap();
        let rollout = Rollout::started(&spec, &plan, RID.into(), "1".into(), false, t(0));
        let ledger = WeightLedger::default();
        for i in 0..25 {
            ledger.owe(&rollout, t(1_000_000 + i));
        }
        let owed = ledger.owed(RID);
        assert_eq!(owed.len(), MAX_UNPUBLISHED_WEIGHTS);
        assert_eq!(owed[0].at, t(1_000_005), "oldest dropped");
        // Weeks later, only the weight now is still worth sending.
        let now = t(1_000_000 + 15 * 86_400);
        assert_eq!(
            weights_to_publish(owed, &rollout, now),
            [WeightAt {
                weight: 0.1,
                at: now
            }]
        );
    }
}
