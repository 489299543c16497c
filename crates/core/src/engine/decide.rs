//! The next move of a rollout in flight: from its alarms, its judgement and the time, or,
//! while provisioned concurrency is being allocated for its new weights, from that allocation.
//! With it, the judgement of the current step's window from the metrics a driver read.

use chrono::{DateTime, Utc};

use super::{Decision, CHECK_INTERVAL_SECONDS};
use crate::alarms::{self, AlarmVerdict};
use crate::judgement::{Analysis, HoldEnd, Judgement, Verdict, VersionMetrics, Window};
use crate::plan::{format_percent, format_seconds, Plan};
use crate::provisioned::{
    Allocation, ProvisionedConcurrency, ALLOCATION_LIMIT_SECONDS, ALLOCATION_POLL_SECONDS,
};
use crate::state::{Control, Rollout};

/// Decides the next move of a rollout in flight from its alarms, the judgement of the
/// current step (when the spec has `analysis`; `None` there means the metrics could not be
/// read, which counts as too few calls, never as a pass) and the time.
pub fn decide(
    rollout: &Rollout,
    plan: &Plan,
    alarms: &[AlarmVerdict],
    judgement: Option<&Judgement>,
    now: DateTime<Utc>,
) -> Decision {
    if rollout.status.is_terminal() {
        return Decision::Ended;
    }
    if let Some(reason) = alarms::failing(alarms) {
        return Decision::RollBack { reason };
    }
    let analysis = rollout.spec.analysis.as_ref();
    let judgement = analysis.and(judgement);
    // A failed judgement is a breach, like an alarm, whenever it comes.
    if let Some(j) = judgement.filter(|j| j.verdict == Verdict::Fail) {
        return Decision::RollBack {
            reason: format!("canary judgement failed: {}", j.reason),
        };
    }
    // An operator's pause: no step advances (the breaches above still roll back).
    if rollout.control == Some(Control::Paused) {
        return Decision::Wait {
            seconds: CHECK_INTERVAL_SECONDS,
        };
    }
    let due = rollout.next_step_at.unwrap_or(now);
    if now < due {
        let millis = (due - now).num_milliseconds().max(0) as u64;
        return Decision::Wait {
            seconds: millis.div_ceil(1000),
        };
    }
    // The end of a split step's hold: too few calls keep it holding, or end it. At 100 %
    // (the bake) there is nothing left to advance to, so only a fail counts there. An
    // operator's promote takes the place of the minimum of calls (a fail still counted above).
    let promoted = rollout.control.is_some_and(Control::is_promote);
    if let Some(analysis) = analysis.filter(|_| rollout.weight < 1.0 && !promoted) {
        let verdict = judgement.map_or(Verdict::Insufficient, |j| j.verdict);
        let past = (now - due).num_seconds().max(0) as u64;
        match analysis.at_hold_end(verdict, past) {
            HoldEnd::Advance => {}
            HoldEnd::Extend { seconds_left } => {
                return Decision::Wait {
                    seconds: seconds_left.min(CHECK_INTERVAL_SECONDS),
                }
            }
            HoldEnd::RollBack { why } => {
                let evidence = judgement.map_or("its metrics could not be read", |j| &j.reason);
                return Decision::RollBack {
                    reason: format!("canary judgement: {why}: {evidence}"),
                };
            }
        }
    }
    if rollout.step_index >= plan.last_index() {
        return Decision::Complete;
    }
    let step_index = match rollout.control {
        Some(Control::PromotedFull) => plan.last_index(),
        _ => rollout.step_index + 1,
    };
    match plan.steps[step_index].weight {
        w if w >= 1.0 => Decision::Promote { step_index },
        weight => Decision::Shift { step_index, weight },
    }
}

/// The next move while the current step's new weights are being allocated (the alias has
/// provisioned concurrency): the split is not judged until the allocation is `READY`, and
/// then the step's hold starts; a `FAILED` allocation, or one still not `READY` when its time
/// is up (`nextStepAt`), rolls back with the reason. The alarms are watched all the while: a
/// breach rolls back at once, warm or not. `seen` is `None` when the alias no longer has
/// provisioned concurrency: there is nothing to wait for.
pub fn decide_allocating(
    rollout: &Rollout,
    alarms: &[AlarmVerdict],
    seen: Option<&ProvisionedConcurrency>,
    now: DateTime<Utc>,
) -> Decision {
    if rollout.status.is_terminal() {
        return Decision::Ended;
    }
    if let Some(reason) = alarms::failing(alarms) {
        return Decision::RollBack { reason };
    }
    let Some(pc) = seen else {
        return Decision::StartHold;
    };
    let what = format!(
        "the provisioned concurrency of {}:{} for {} on version {}",
        rollout.spec.function_short_name(),
        rollout.spec.alias,
        format_percent(rollout.weight),
        rollout.spec.target_version
    );
    match pc.allocation() {
        Allocation::Ready => Decision::StartHold,
        Allocation::Failed(reason) => Decision::RollBack {
            reason: format!("{what} could not be allocated: {reason}"),
        },
        Allocation::InProgress => {
            let deadline = rollout.next_step_at.unwrap_or(now);
            if now >= deadline {
                return Decision::RollBack {
                    reason: format!(
                        "{what} was still not READY {} after the shift ({})",
                        format_seconds(ALLOCATION_LIMIT_SECONDS),
                        pc.describe()
                    ),
                };
            }
            let left = (deadline - now).num_seconds().max(1) as u64;
            Decision::Wait {
                seconds: left.min(ALLOCATION_POLL_SECONDS),
            }
        }
    }
}

impl Judgement {
    /// Metrics that could not be read: too few calls, never a pass, and said so.
    pub fn unreadable(rollout: &Rollout, why: &str, now: DateTime<Utc>) -> Judgement {
        let spec = &rollout.spec;
        let current = spec.current_version.as_deref().unwrap_or_default();
        Judgement {
            verdict: Verdict::Insufficient,
            reason: format!("the metrics could not be read ({why}): counted as too few calls"),
            at: Window::new(now, now).end,
            window: Window::new(rollout.window_start(), now),
            target: VersionMetrics::none(&spec.target_version),
            current: VersionMetrics::none(current),
        }
    }

    /// The judgement of `rollout`'s current step from the metrics read for its window.
    pub fn of(
        rollout: &Rollout,
        analysis: &Analysis,
        target: VersionMetrics,
        current: VersionMetrics,
        now: DateTime<Utc>,
    ) -> Judgement {
        let window = Window::new(rollout.window_start(), now);
        Judgement::new(analysis, target, current, window.end.clone(), window)
    }
}
