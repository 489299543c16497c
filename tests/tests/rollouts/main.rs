//! Rollouts end to end against ministack: the real SDK, real SNS → SQS delivery, the engine
//! driven step by step with a clock the test moves (so holds cost no wall time).

mod alarm_rollback;
mod channels;
mod check;
mod cli;
mod control;
mod conventions;
mod functions;
mod judged;
mod pictures;
mod sets;
mod sets_found;
mod shifting;
mod signals;
mod terminal;

use std::ops::Deref;

use chrono::{DateTime, Duration, Utc};
use rollout_core::{Rollout, Spec};
pub use rollout_testkit::clock::{later, t0};
use rollout_testkit::fixture::World;
use rollout_usecases::driver::{DriveError, Pacer, Stepped};
use rollout_usecases::readiness::{ReadyWait, DEFAULT_LIMIT};

/// The kit's setup with one function, driven by the test's clock.
pub struct Setup(rollout_testkit::Setup);

impl Deref for Setup {
    type Target = rollout_testkit::Setup;

    fn deref(&self) -> &rollout_testkit::Setup {
        &self.0
    }
}

impl Setup {
    /// With `function` (versions 1 and 2 behind `live` on 1) and no alarm.
    pub async fn new(function: &str) -> Setup {
        let setup = rollout_testkit::Setup::new().await;
        setup.world.function_with_two_versions(function).await;
        Setup(setup)
    }

    pub async fn start(&self, spec: &Spec, now: DateTime<Utc>) -> Result<Rollout, DriveError> {
        let driver = self.adapters.driver("test", &[], None);
        // As a user's start would: a version published a moment ago is waited for.
        let ready = ReadyWait::up_to(DEFAULT_LIMIT);
        driver
            .start(
                spec,
                rollout_usecases::driver::new_rollout_id(now),
                now,
                &ready,
            )
            .await
            .map(told)
    }

    pub async fn step(&self, rollout: &Rollout, now: DateTime<Utc>) -> Result<Rollout, DriveError> {
        self.adapters
            .driver("test", &[], None)
            .step(rollout, now)
            .await
            .map(told)
    }

    /// Drives the rollout to its end through the one driver loop, on a clock that jumps to
    /// each due time, recording the alias before each step and at the end.
    pub async fn drive_to_end(
        &self,
        rollout: Rollout,
    ) -> (Rollout, Vec<(String, Option<(String, f64)>)>) {
        let function = rollout.spec.function_name.clone();
        let mut pacer = DueTimes {
            world: &self.world,
            function: &function,
            now: rollout.next_step_at.unwrap_or_else(Utc::now),
            seen: Vec::new(),
        };
        let ended = self
            .adapters
            .driver("test", &[], None)
            .run_until_end(rollout, &mut pacer, None)
            .await
            .map_err(|(_, e)| e)
            .expect("driven to its end");
        let mut seen = pacer.seen;
        let alias = self.world.alias(&function).await;
        seen.push((alias.version, alias.routing));
        (ended, seen)
    }
}

/// A clock that jumps to each step's due time; the alias recorded before each step.
struct DueTimes<'w> {
    world: &'w World,
    function: &'w str,
    now: DateTime<Utc>,
    seen: Vec<(String, Option<(String, f64)>)>,
}

#[async_trait::async_trait(?Send)]
impl Pacer for DueTimes<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }

    async fn wait(&mut self, _: &Rollout, wait: std::time::Duration) {
        let alias = self.world.alias(self.function).await;
        self.seen.push((alias.version, alias.routing));
        assert!(self.seen.len() < 50, "the rollout did not end");
        self.now += Duration::from_std(wait).expect("a wait fits");
    }

    fn stepped(&mut self, stepped: &Stepped) {
        assert_eq!(stepped.warning, None, "the notification was published");
    }
}

/// The rollout a start or step led to, once people were told of it (SNS is up in these tests).
fn told(stepped: Stepped) -> Rollout {
    assert_eq!(stepped.warning, None, "the notification was published");
    stepped.rollout
}
