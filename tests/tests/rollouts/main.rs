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
mod shifting;
mod signals;
mod terminal;

use chrono::{DateTime, Duration, Utc};
use rollout_aws::Adapters;
use rollout_core::{Rollout, Spec};
use rollout_testkit::fixture::World;
use rollout_testkit::Ministack;
use rollout_usecases::driver::{DriveError, Stepped};
use rollout_usecases::readiness::{ReadyWait, DEFAULT_LIMIT};

/// One emulator, its world, and the SDK-backed adapters the functions use.
pub struct Setup {
    pub stack: Ministack,
    pub world: World,
    pub adapters: Adapters,
}

impl Setup {
    pub async fn new(function: &str) -> Setup {
        let stack = Ministack::start().await;
        let world = World::new(&stack).await;
        world.function_with_two_versions(function).await;
        let adapters = Adapters::new(&stack.sdk_config());
        Setup {
            stack,
            world,
            adapters,
        }
    }

    pub fn spec(&self, function: &str, strategy: &str, alarms: &[&str]) -> Spec {
        Spec {
            function_name: function.into(),
            alias: "live".into(),
            target_version: "2".into(),
            current_version: None,
            strategy: strategy.into(),
            alarms: alarms.iter().map(|a| a.to_string()).collect(),
            notification_topic_arn: Some(self.world.topic_arn.clone()),
            bake_time: None,
            analysis: None,
        }
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

    /// Steps at each due time until the rollout ends, recording the alias after each step.
    pub async fn drive_to_end(
        &self,
        mut rollout: Rollout,
    ) -> (Rollout, Vec<(String, Option<(String, f64)>)>) {
        let mut seen = Vec::new();
        for _ in 0..50 {
            let alias = self.world.alias(&rollout.spec.function_name).await;
            seen.push((alias.version, alias.routing));
            if rollout.status.is_terminal() {
                return (rollout, seen);
            }
            let due = rollout.next_step_at.expect("in progress has a next step");
            rollout = self.step(&rollout, due).await.expect("step");
        }
        panic!("rollout did not end: {rollout:?}");
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc::now()
}

pub fn later(at: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    at + Duration::seconds(seconds)
}

/// The rollout a start or step led to, once people were told of it (SNS is up in these tests).
fn told(stepped: Stepped) -> Rollout {
    assert_eq!(stepped.warning, None, "the notification was published");
    stepped.rollout
}
