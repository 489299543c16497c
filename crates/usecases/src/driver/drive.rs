//! The one driver loop: a rollout driven to its end, step after step, waiting between checks
//! as the engine's decision says (`nextStepAt`; sooner when the driver watches alarms between
//! steps), through a [`Pacer`] that owns time: the `rollout` command sleeps (and shows
//! progress), the tests and the bench move a clock. Also the one way to take up a rollout from
//! its alias's marker ([`Driver::resumed_from`]).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rollout_core::engine::CHECK_INTERVAL_SECONDS;
use rollout_core::state::Control;
use rollout_core::{AliasState, Marker, Plan, Rollout, Spec};

use super::{DriveError, Driver, Stepped};

/// Owns time for [`Driver::run_until_end`], and hears of each step.
#[async_trait(?Send)]
pub trait Pacer {
    fn now(&self) -> DateTime<Utc>;
    /// Lets `wait` pass while `rollout` holds (a real sleep, or a clock moved on).
    async fn wait(&mut self, rollout: &Rollout, wait: Duration);
    /// What a step came to (its warning, if telling people failed after the alias was safe).
    fn stepped(&mut self, _stepped: &Stepped) {}
    /// A step that failed in a way that may pass: nothing moved; the loop goes on.
    fn retrying(&mut self, _error: &DriveError) {}
}

/// How long to wait before the next check of `rollout` at `now`: until its next step is due,
/// or `poll` at most for a driver that watches alarms between steps. A step past its hold that
/// still holds (extended for too few calls, or paused) is asked again every `poll`, or every
/// check interval without one.
pub fn next_check(rollout: &Rollout, now: DateTime<Utc>, poll: Option<Duration>) -> Duration {
    // To the nanosecond: a wait cut to whole milliseconds would end just before the step is
    // due, and a clock that jumps by the wait would ask again and again at that instant.
    let due = rollout
        .next_step_at
        .and_then(|at| (at - now).to_std().ok())
        .unwrap_or(Duration::ZERO);
    let holding = due.is_zero()
        && (rollout.last_judgement.is_some() || rollout.control == Some(Control::Paused));
    match (holding, poll) {
        (true, Some(p)) => p,
        (true, None) => Duration::from_secs(CHECK_INTERVAL_SECONDS),
        (false, Some(p)) => due.min(p),
        (false, None) => due,
    }
}

/// The loop itself, for one alias's rollout or a release set (`state`): the pacer sees each
/// as a rollout (`view`: a set's lead with the set's progress).
pub(crate) async fn drive<S>(
    mut state: S,
    view: impl Fn(&S) -> Rollout,
    step: impl AsyncFn(&S, DateTime<Utc>) -> Result<(S, Option<String>), DriveError>,
    pacer: &mut dyn Pacer,
    poll: Option<Duration>,
) -> Result<S, (S, DriveError)> {
    loop {
        let rollout = view(&state);
        if rollout.status.is_terminal() {
            return Ok(state);
        }
        let wait = next_check(&rollout, pacer.now(), poll);
        pacer.wait(&rollout, wait).await;
        match step(&state, pacer.now()).await {
            Ok((next, warning)) => {
                pacer.stepped(&Stepped {
                    rollout: view(&next),
                    warning,
                });
                state = next;
            }
            Err(DriveError::Alias(e)) if e.is_transient() => {
                let e = DriveError::Alias(e);
                pacer.retrying(&e);
                // Nothing moved: wait a check before trying again.
                if wait.is_zero() {
                    let interval = poll.unwrap_or(Duration::from_secs(CHECK_INTERVAL_SECONDS));
                    pacer.wait(&rollout, interval).await;
                }
            }
            Err(e) => return Err((state, e)),
        }
    }
}

impl Driver<'_> {
    /// Drives `rollout` to its end through `pacer`; `poll`: how often alarms are checked while
    /// a step holds (`None`: only when a step is due). A step that fails in a way that may pass
    /// is tried again at the next check; any other error ends the loop with the rollout as it
    /// last stood (for the caller to report where the alias was left).
    pub async fn run_until_end(
        &self,
        rollout: Rollout,
        pacer: &mut dyn Pacer,
        poll: Option<Duration>,
    ) -> Result<Rollout, (Rollout, DriveError)> {
        drive(
            rollout,
            Rollout::clone,
            async |rollout: &Rollout, now| {
                let stepped = self.step(rollout, now).await?;
                Ok((stepped.rollout, stepped.warning))
            },
            pacer,
            poll,
        )
        .await
    }

    /// The state of the rollout the alias's `marker` records, as a start of `spec` under the
    /// same id takes it up (a replayed start, or a driver stopped after its first write): the
    /// progress the marker shows, changing nothing.
    pub fn resumed_from(
        &self,
        spec: &Spec,
        plan: &Plan,
        marker: &Marker,
        alias: &AliasState,
        provisioned: bool,
        now: DateTime<Utc>,
    ) -> Rollout {
        let mut at_start = Rollout::started(
            spec,
            plan,
            marker.rollout_id.clone(),
            marker.from_version.clone(),
            provisioned,
            now,
        );
        at_start.reason = None;
        at_start.replayed(marker, plan, alias, now)
    }
}

/// Real time: sleeps.
pub struct Sleeping;

#[async_trait(?Send)]
impl Pacer for Sleeping {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn wait(&mut self, _: &Rollout, wait: Duration) {
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readiness::ReadyWait;
    use crate::testing::{spec, t, World, RID};
    use rollout_core::{AlarmState, Status};

    /// A clock that jumps to the end of each wait, as a test's or the bench's does.
    struct Jumping {
        now: DateTime<Utc>,
        steps: usize,
    }

    #[async_trait(?Send)]
    impl Pacer for Jumping {
        fn now(&self) -> DateTime<Utc> {
            self.now
        }

        async fn wait(&mut self, _: &Rollout, wait: Duration) {
            self.now += chrono::Duration::from_std(wait).unwrap();
        }

        fn stepped(&mut self, _: &Stepped) {
            self.steps += 1;
            assert!(
                self.steps < 1000,
                "asked again and again without time passing"
            );
        }
    }

    fn no_wait() -> ReadyWait<'static> {
        ReadyWait::up_to(Duration::ZERO)
    }

    #[tokio::test]
    async fn drives_a_rollout_to_its_end_waiting_only_as_its_steps_say() {
        let world = World::new();
        let driver = world.driver();
        let started = driver
            .start(&spec(), RID.into(), t(0), &no_wait())
            .await
            .unwrap()
            .rollout;
        let mut clock = Jumping {
            now: t(0),
            steps: 0,
        };
        let ended = driver
            .run_until_end(started.clone(), &mut clock, None)
            .await
            .unwrap();
        assert_eq!(ended.status, Status::Succeeded);
        // Linear10PercentEvery1Minute from 10 %: eight more shifts a minute apart, the last
        // one to 100 %, which ends it (no bake).
        assert_eq!(
            clock.now,
            started.next_step_at.unwrap() + chrono::Duration::minutes(8)
        );
        assert_eq!(clock.steps, 9);
    }

    #[tokio::test]
    async fn with_a_poll_it_checks_alarms_between_steps_and_rolls_back_within_one() {
        let world = World::new();
        let driver = world.driver();
        let started = driver
            .start(&spec(), RID.into(), t(0), &no_wait())
            .await
            .unwrap()
            .rollout;
        world.alarms.set(AlarmState::Alarm);
        let mut clock = Jumping {
            now: t(0),
            steps: 0,
        };
        let ended = driver
            .run_until_end(started, &mut clock, Some(Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(ended.status, Status::RolledBack);
        assert_eq!(
            clock.now,
            t(5),
            "within one poll, not at the end of the hold"
        );
    }

    #[tokio::test]
    async fn a_start_between_two_milliseconds_is_stepped_when_due_not_asked_again_and_again() {
        let world = World::new();
        let driver = world.driver();
        // As the bench and the command start: the clock read, then a start that took a moment
        // (the readiness wait), so the next step falls between two of the clock's milliseconds.
        let read = t(0) + chrono::Duration::nanoseconds(123_456_789);
        let at = read + chrono::Duration::microseconds(400);
        let started = driver
            .start(&spec(), RID.into(), at, &no_wait())
            .await
            .unwrap()
            .rollout;
        let mut clock = Jumping {
            now: read,
            steps: 0,
        };
        let ended = driver
            .run_until_end(started, &mut clock, Some(Duration::from_secs(55)))
            .await
            .unwrap();
        assert_eq!(ended.status, Status::Succeeded);
        // Nine more steps, each checked once 5 s before it is due and once when it is.
        assert_eq!(clock.steps, 18);
    }

    #[test]
    fn a_step_held_past_its_due_time_is_asked_again_every_poll() {
        let mut rollout = Rollout::started(
            &spec(),
            &spec().validate().unwrap(),
            RID.into(),
            "1".into(),
            false,
            t(0),
        );
        assert_eq!(next_check(&rollout, t(30), None), Duration::from_secs(30));
        assert_eq!(
            next_check(&rollout, t(30), Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        rollout.control = Some(Control::Paused);
        assert_eq!(
            next_check(&rollout, t(90), Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(
            next_check(&rollout, t(90), None),
            Duration::from_secs(CHECK_INTERVAL_SECONDS)
        );
    }
}
