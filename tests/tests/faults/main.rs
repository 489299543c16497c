//! The fault suite: every rollout path run through [`FaultProxy`] between our code and
//! ministack, with throttling, 5xx, dropped connections and answers lost after the call went
//! through, and the invariants checked after each run: no alias left split with no driver and
//! no alert; one alert a subscriber keeps per transition (duplicates share an `eventId`); no
//! write over someone else's change; the real reason kept.

mod control;
mod random;
mod sets;

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;
use chrono::Utc;
use rollout_aws::places::AwsPlaces;
use rollout_core::{Rollout, Status};
pub use rollout_testkit::clock::t;
use rollout_testkit::faults::{Fault, FaultProxy};
use rollout_testkit::fixture::{kept, spawn_rollout_cli};
use rollout_testkit::{sdk_config, Ministack, Setup};
use rollout_usecases::driver::Driver;
use rollout_usecases::patience::Patience;
use rollout_usecases::readiness::ReadyWait;

/// The kit's setup with a proxy in front of the emulator: the adapters' every call goes
/// through it, the world's (the test's own look) never does.
pub struct Faulty {
    setup: Setup,
    pub proxy: FaultProxy,
}

impl Deref for Faulty {
    type Target = Setup;

    fn deref(&self) -> &Setup {
        &self.setup
    }
}

/// A test may add channels to the adapters.
impl DerefMut for Faulty {
    fn deref_mut(&mut self) -> &mut Setup {
        &mut self.setup
    }
}

/// Quick enough for a test, the same shape as in production: reads give up after seconds,
/// a rollback keeps going far longer than any burst of faults here.
pub const PATIENCE: Patience = Patience {
    reads: Duration::from_secs(8),
    rollback: Duration::from_secs(90),
    first_delay: Duration::from_millis(50),
    max_delay: Duration::from_secs(1),
};

impl Faulty {
    pub async fn new() -> Faulty {
        let stack = Ministack::start().await;
        let proxy = FaultProxy::start(&stack.endpoint());
        let setup = Setup::calling(stack, &sdk_config(&proxy.url())).await;
        Faulty { setup, proxy }
    }

    pub fn driver(&self) -> Driver<'_> {
        let mut driver = self.adapters.driver("fault-suite", &[], None);
        driver.patience = PATIENCE;
        driver
    }
}

async fn started(f: &Faulty, function: &str, alarm: &str) -> Rollout {
    started_with(f, function, "Canary10Percent5Minutes", alarm).await
}

async fn started_with(f: &Faulty, function: &str, strategy: &str, alarm: &str) -> Rollout {
    f.driver()
        .start(
            &f.spec(function, strategy).alarms([alarm]),
            "r-20300317T170000000Z".into(),
            t(0),
            &ReadyWait::up_to(Duration::from_secs(30)),
        )
        .await
        .expect("start")
        .rollout
}

#[tokio::test]
async fn a_rollback_lands_through_a_burst_of_throttled_writes() {
    let f = Faulty::new().await;
    let alarm = f.function("orders").await;
    let rollout = started(&f, "orders", &alarm).await;
    f.world.set_alarm(&alarm, StateValue::Alarm).await;
    // Three throttles per SDK call, so the SDK alone gives up twice over.
    f.proxy.fail("UpdateAlias", Fault::Throttle, 8);
    let stepped = f.driver().step(&rollout, t(10)).await.expect("step");
    assert_eq!(
        stepped.rollout.status,
        Status::RolledBack,
        "{:?}",
        stepped.rollout.reason
    );
    assert!(stepped.rollout.reason.as_deref().unwrap().contains(&alarm));
    let alias = f.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    let throttled = f
        .proxy
        .log()
        .iter()
        .filter(|c| c.operation == "UpdateAlias" && c.fault.is_some())
        .count();
    assert_eq!(throttled, 8, "every injected fault was met");
    let kept = kept(&f.world.notifications().await);
    let events: Vec<&str> = kept.iter().map(|n| n["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["rollout.started", "rollout.rolled_back"]);
}

#[tokio::test]
async fn a_shift_whose_answer_is_lost_carries_on_as_our_own_write() {
    let f = Faulty::new().await;
    let alarm = f.function("orders").await;
    let rollout = started_with(&f, "orders", "20%:1m,50%:1m", &alarm).await;
    f.proxy.fail("UpdateAlias", Fault::LoseAnswer, 1);
    let due = rollout.next_step_at.expect("holding");
    let stepped = f
        .driver()
        .step(&rollout, due)
        .await
        .expect("not taken for someone else's change");
    assert_eq!(
        (stepped.rollout.status, stepped.rollout.weight),
        (Status::InProgress, 0.5)
    );
    let alias = f.world.alias("orders").await;
    assert_eq!(alias.routing, Some(("2".into(), 0.5)));
    assert_eq!(stepped.rollout.alias_revision_id, alias.revision_id);
    let events: Vec<String> = kept(&f.world.notifications().await)
        .iter()
        .map(|n| n["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["rollout.started", "rollout.shifted"]);
}

#[tokio::test]
async fn throttled_alarm_reads_do_not_roll_back_a_healthy_canary() {
    let f = Faulty::new().await;
    let alarm = f.function("orders").await;
    let rollout = started_with(&f, "orders", "20%:1m,50%:1m", &alarm).await;
    f.proxy.fail("DescribeAlarms", Fault::Throttle, 5);
    f.proxy.fail("GetAlias", Fault::ServerError(503), 4);
    let due = rollout.next_step_at.expect("holding");
    let held = f.driver().step(&rollout, t(30)).await.expect("hold");
    assert_eq!(
        (held.rollout.status, held.rollout.step_index),
        (Status::InProgress, 0)
    );
    let stepped = f.driver().step(&held.rollout, due).await.expect("step");
    assert_eq!(
        (stepped.rollout.status, stepped.rollout.step_index),
        (Status::InProgress, 1)
    );
}

#[tokio::test]
async fn a_publish_whose_answer_is_lost_reaches_subscribers_once_they_drop_the_duplicate() {
    let f = Faulty::new().await;
    let alarm = f.function("orders").await;
    f.proxy.fail("Publish", Fault::LoseAnswer, 1);
    started(&f, "orders", &alarm).await;
    let delivered = f.world.notifications().await;
    assert!(!delivered.is_empty());
    let kept = kept(&delivered);
    assert_eq!(kept.len(), 1, "{delivered:?}");
    assert_eq!(kept[0]["event"], "rollout.started");
    assert_eq!(
        kept[0]["_attributes"]["eventId"]["Value"], kept[0]["eventId"],
        "the key is a message attribute too"
    );
}

#[test]
fn the_cli_rolls_back_through_throttling_and_exits_3() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let f = runtime.block_on(Faulty::new());
    let alarm = runtime.block_on(f.function("orders"));
    let child = spawn_rollout_cli(
        &f.stack,
        &f.proxy.url(),
        &[
            "run",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            "2",
            "--strategy",
            "50%:10m",
            "--alarm",
            &alarm,
            "--poll",
            "1s",
        ],
    );
    // Once it holds at 50%, the alarm fires and every alias write meets throttling for a while.
    runtime.block_on(async {
        f.world.until_split("orders").await;
        f.proxy.fail("UpdateAlias", Fault::Throttle, 7);
        f.world.set_alarm(&alarm, StateValue::Alarm).await;
    });
    let out = child.wait_with_output().expect("rollout run ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let alias = runtime.block_on(f.world.alias("orders"));
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
}

/// GetProvisionedConcurrencyConfig's answer while Lambda is still allocating an alias's new
/// weights (the emulator allocates at once).
pub const ALLOCATING: Fault = Fault::Answer(
    200,
    br#"{"RequestedProvisionedConcurrentExecutions":10,"AvailableProvisionedConcurrentExecutions":4,"AllocatedProvisionedConcurrentExecutions":4,"Status":"IN_PROGRESS","LastModified":"2030-03-17T17:00:00+0000"}"#,
);

#[tokio::test]
async fn an_alarm_during_a_provisioned_concurrency_allocation_rolls_back_within_one_check() {
    let f = Faulty::new().await;
    let alarm = f.function("orders").await;
    f.world.provision("orders", 10).await;
    let rollout = started(&f, "orders", &alarm).await;
    assert_eq!(
        rollout.provisioned_concurrency,
        Some(rollout_core::Provisioning::Allocating)
    );
    // Lambda is still allocating the 10 % for the next minute: every read says IN_PROGRESS.
    f.proxy
        .fail("GetProvisionedConcurrencyConfig", ALLOCATING, 1000);
    let waiting = f
        .driver()
        .step(&rollout, t(10))
        .await
        .expect("step")
        .rollout;
    assert_eq!(waiting.status, Status::InProgress);
    assert_eq!(waiting.wait_seconds, 10, "asked again in 10 s");
    f.world.set_alarm(&alarm, StateValue::Alarm).await;
    // The next check, 10 s later and still allocating, rolls back.
    let ended = f
        .driver()
        .step(&waiting, t(20))
        .await
        .expect("step")
        .rollout;
    assert_eq!(ended.status, Status::RolledBack, "{ended:?}");
    let alias = f.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    let events: Vec<_> = kept(&f.world.notifications().await)
        .iter()
        .map(|n| n["event"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(events, ["rollout.started", "rollout.rolled_back"]);
}

/// What CloudWatch answers for a canary failing 30 of its 100 calls when it could not finish
/// the target's `Errors` (`status`): no values there.
fn failing_canary_answered(status: &str) -> Fault {
    let at = serde_json::json!({"$time": Utc::now().timestamp() / 60 * 60});
    let result = |id: &str, status: &str, value: Option<f64>| {
        serde_json::json!({
            "Id": id, "Label": id, "StatusCode": status,
            "Timestamps": value.map(|_| vec![at.clone()]).unwrap_or_default(),
            "Values": value.map(|v| vec![v]).unwrap_or_default(),
        })
    };
    Fault::Answer(
        200,
        rollout_testkit::faults::cbor(serde_json::json!({"MetricDataResults": [
            result("t_inv", "Complete", Some(100.0)),
            result("t_err", status, None),
            result("t_p99", "Complete", Some(120.0)),
            result("c_inv", "Complete", Some(900.0)),
            result("c_err", "Complete", Some(1.0)),
            result("c_p99", "Complete", Some(100.0)),
        ]})),
    )
}

#[tokio::test]
async fn a_metrics_answer_that_is_not_whole_never_passes_a_failing_canary() {
    let f = Faulty::new().await;
    for (function, status) in [("orders", "InternalError"), ("payments", "PartialData")] {
        let alarm = f.function(function).await;
        f.proxy.clear();
        f.proxy
            .fail("GetMetricData", failing_canary_answered(status), 1000);
        let child = spawn_rollout_cli(
            &f.stack,
            &f.proxy.url(),
            &[
                "run",
                "--function",
                function,
                "--alias",
                "live",
                "--to",
                "2",
                "--strategy",
                "10%:2s",
                "--alarm",
                &alarm,
                "--poll",
                "1s",
                "--analysis",
                r#"{"minInvocations": 50, "maxExtension": "3s"}"#,
            ],
        );
        let out = tokio::task::spawn_blocking(|| child.wait_with_output())
            .await
            .unwrap()
            .expect("rollout run ends");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        // Read as zero errors it was promoted (exit 0); unreadable, it is too few calls.
        assert_eq!(out.status.code(), Some(3), "{status}: {stdout}{stderr}");
        assert!(
            stdout.contains(&format!("t_err {status}")),
            "{status}: {stdout}"
        );
        let alias = f.world.alias(function).await;
        assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    }
}

/// `rollout run` holding `orders` at 50 % with `alarm` watched, over the proxy.
fn run_at_half(f: &Faulty, alarm: &str) -> std::process::Child {
    spawn_rollout_cli(
        &f.stack,
        &f.proxy.url(),
        &[
            "run",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            "2",
            "--strategy",
            "50%:10m",
            "--alarm",
            alarm,
            "--topic",
            &f.world.topic_arn,
            "--poll",
            "1s",
        ],
    )
}

/// Sends `signal` to `child` once the proxy has seen a throttled rollback write.
async fn signal_mid_rollback(f: &Faulty, child: &std::process::Child, signals: &[&str]) {
    let throttled = |f: &Faulty| {
        f.proxy
            .log()
            .iter()
            .any(|c| c.operation == "UpdateAlias" && c.fault == Some(Fault::Throttle))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !throttled(f) {
        assert!(tokio::time::Instant::now() < deadline, "no rollback began");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for signal in signals {
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn sigterm_during_a_throttled_rollback_finishes_it_and_exits_3() {
    let f = Faulty::new().await;
    let alarm = f.function("orders").await;
    let child = run_at_half(&f, &alarm);
    f.world.until_split("orders").await;
    // Every alias write meets throttling for a while (the SDK's own attempts included).
    f.proxy.fail("UpdateAlias", Fault::Throttle, 9);
    f.world.set_alarm(&alarm, StateValue::Alarm).await;
    // What a cancelled CI job does, in the middle of the rollback.
    signal_mid_rollback(&f, &child, &["TERM"]).await;
    let out = tokio::task::spawn_blocking(|| child.wait_with_output())
        .await
        .unwrap()
        .expect("rollout run ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stdout.contains("SIGTERM: putting the alias back on version 1 first"),
        "{stdout}"
    );
    let alias = f.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    let events: Vec<_> = kept(&f.world.notifications().await)
        .iter()
        .map(|n| n["event"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(events, ["rollout.started", "rollout.rolled_back"]);
}

#[tokio::test]
async fn a_second_signal_stops_the_rollback_and_the_alert_says_so_with_the_abort_command() {
    let f = Faulty::new().await;
    let alarm = f.function("orders").await;
    let child = run_at_half(&f, &alarm);
    f.world.until_split("orders").await;
    f.proxy.fail("UpdateAlias", Fault::Throttle, 1000);
    f.world.set_alarm(&alarm, StateValue::Alarm).await;
    signal_mid_rollback(&f, &child, &["TERM", "TERM"]).await;
    let out = tokio::task::spawn_blocking(|| child.wait_with_output())
        .await
        .unwrap()
        .expect("rollout run ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert_eq!(
        f.world.alias("orders").await.routing,
        Some(("2".into(), 0.5)),
        "still split: the rollback was stopped"
    );
    let failed: Vec<_> = f
        .world
        .notifications()
        .await
        .into_iter()
        .filter(|n| n["event"] == "rollout.failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    for said in [
        "the rollback was interrupted",
        &alarm,
        "version 1 with 50% on 2",
        "rollout abort --function orders --alias live",
    ] {
        assert!(reason.contains(said), "{said:?} not in {reason}");
    }
}

#[tokio::test]
async fn alarm_rollback_after_a_lost_publish_sends_the_owed_alert_with_the_real_reason() {
    // A short alarm name, and one longer than the marker's room for `by=` (cut there).
    for function in ["orders", "orders-checkout-payment-authorisation-eu-west"] {
        owed_alert_after_a_lost_publish(function).await;
    }
}

async fn owed_alert_after_a_lost_publish(function: &str) {
    use alarm_rollback::parse_alarm_change;
    use rollout_usecases::alarm_rollback::roll_back_guarded;
    use rollout_usecases::driver::StopScope;
    let f = Faulty::new().await;
    let alarm = f.function(function).await;
    started(&f, function, &alarm).await;
    f.world.set_alarm(&alarm, StateValue::Alarm).await;
    let event = rollout_testkit::events::alarm_went_off(
        &alarm,
        &f.world.alarm_arn(&alarm).await,
        serde_json::json!({"FunctionName": function, "Resource": format!("{function}:live")}),
    );
    let topic = f.world.topic_arn.clone();
    let mut driver = f.adapters.driver("alarm-rollback", &[], Some(&topic));
    driver.patience = PATIENCE;
    let places = AwsPlaces::new(&f.adapters, &sdk_config(&f.proxy.url()));
    // SNS is down for longer than the driver's read bound: the first invocation fails.
    f.proxy.fail("Publish", Fault::ServerError(500), 1000);
    let first = roll_back_guarded(
        &driver,
        &f.adapters.aliases,
        &f.adapters.alarms,
        &places,
        parse_alarm_change(event.clone()).unwrap(),
        StopScope::OurRollouts,
        t(5),
    )
    .await;
    assert_eq!(first.unwrap_err().error_type, "NotificationFailed");
    assert!(
        f.world.alias(function).await.routing.is_none(),
        "rolled back before telling"
    );
    // Lambda retries the event once SNS is back: the alert owed goes out, with its reason.
    f.proxy.clear();
    let again = roll_back_guarded(
        &driver,
        &f.adapters.aliases,
        &f.adapters.alarms,
        &places,
        parse_alarm_change(event).unwrap(),
        StopScope::OurRollouts,
        t(90),
    )
    .await
    .expect("the replay succeeds");
    assert_eq!(again.rolled_back.len(), 1, "{again:?}");
    let kept = kept(&f.world.notifications().await);
    let events: Vec<&str> = kept.iter().map(|n| n["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["rollout.started", "rollout.rolled_back"]);
    let reason = kept[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("alarm {alarm} went to ALARM")),
        "{reason}"
    );
}

/// An alarm guarding two aliases, with SNS down: each alias is put back at once, not after
/// the other's alert has been tried for its whole bound.
#[tokio::test]
async fn alarm_rollback_puts_every_guarded_alias_back_before_any_alert_waits() {
    use alarm_rollback::parse_alarm_change;
    use rollout_usecases::alarm_rollback::roll_back_guarded;
    use rollout_usecases::driver::StopScope;
    use std::time::Instant;
    let f = Faulty::new().await;
    let orders = f.function("orders").await;
    let payments = f.function("payments").await;
    started(&f, "orders", &orders).await;
    started(&f, "payments", &payments).await;
    f.world
        .alarm("shared-errors", "orders", Some("orders:live payments:live"))
        .await;
    f.world.set_alarm("shared-errors", StateValue::Alarm).await;
    let event = rollout_testkit::events::alarm_went_off(
        "shared-errors",
        &f.world.alarm_arn("shared-errors").await,
        serde_json::json!({"FunctionName": "orders", "Resource": "orders:live"}),
    );
    let topic = f.world.topic_arn.clone();
    let mut driver = f.adapters.driver("alarm-rollback", &[], Some(&topic));
    driver.patience = PATIENCE;
    let places = AwsPlaces::new(&f.adapters, &sdk_config(&f.proxy.url()));
    f.proxy.fail("Publish", Fault::ServerError(500), 1000);
    let began = Instant::now();
    let run = roll_back_guarded(
        &driver,
        &f.adapters.aliases,
        &f.adapters.alarms,
        &places,
        parse_alarm_change(event).unwrap(),
        StopScope::OurRollouts,
        t(5),
    );
    let watch = async {
        let mut restored = Vec::new();
        while restored.len() < 2 && began.elapsed() < Duration::from_secs(30) {
            for function in ["orders", "payments"] {
                if !restored.iter().any(|(f, _)| *f == function)
                    && f.world.alias(function).await.routing.is_none()
                {
                    restored.push((function, began.elapsed()));
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        restored
    };
    let (outcome, restored) = tokio::join!(run, watch);
    assert_eq!(outcome.unwrap_err().error_type, "NotificationFailed");
    let took = began.elapsed();
    assert!(
        took >= PATIENCE.reads,
        "the alerts were tried for their bound: {took:?}"
    );
    assert_eq!(restored.len(), 2, "{restored:?}");
    for (function, at) in &restored {
        assert!(
            *at < Duration::from_secs(4),
            "{function} waited {at:?} for another alias's alert"
        );
    }
}
