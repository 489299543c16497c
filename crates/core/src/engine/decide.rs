//! The next move of a rollout in flight, from its alarms and the time.

use chrono::{DateTime, Utc};

use super::Decision;
use crate::alarms::{self, AlarmVerdict};
use crate::plan::Plan;
use crate::state::Rollout;

/// Decides the next move of a rollout in flight from its alarms and the time.
pub fn decide(
    rollout: &Rollout,
    plan: &Plan,
    alarms: &[AlarmVerdict],
    now: DateTime<Utc>,
) -> Decision {
    if rollout.status.is_terminal() {
        return Decision::Ended;
    }
    if let Some(reason) = alarms::failing(alarms) {
        return Decision::RollBack { reason };
    }
    let due = rollout.next_step_at.unwrap_or(now);
    if now < due {
        let millis = (due - now).num_milliseconds().max(0) as u64;
        return Decision::Wait {
            seconds: millis.div_ceil(1000),
        };
    }
    if rollout.step_index >= plan.last_index() {
        return Decision::Complete;
    }
    let step_index = rollout.step_index + 1;
    match plan.steps[step_index].weight {
        w if w >= 1.0 => Decision::Promote { step_index },
        weight => Decision::Shift { step_index, weight },
    }
}
