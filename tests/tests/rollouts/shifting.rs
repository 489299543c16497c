//! The shifter's engine and adapters against a real alias, alarms and topic.

use aws_sdk_cloudwatch::types::StateValue;
use rollout_core::{Provisioning, Refusal, Status};
use rollout_usecases::driver::DriveError;

use crate::{later, t0, Setup};

fn routed(v: &str, w: f64) -> (String, Option<(String, f64)>) {
    ("1".into(), Some((v.into(), w)))
}

fn settled(v: &str) -> (String, Option<(String, f64)>) {
    (v.into(), None)
}

#[tokio::test]
async fn linear_rollout_promotes_through_every_weight() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let spec = s
        .spec("orders", "Linear25PercentEvery1Minute")
        .alarms(["orders-errors"]);
    let rollout = s.start(&spec, t0()).await.expect("start");
    let (done, seen) = s.drive_to_end(rollout).await;
    assert_eq!(done.status, Status::Succeeded, "{done:?}");
    assert_eq!(
        seen,
        [
            routed("2", 0.25),
            routed("2", 0.5),
            routed("2", 0.75),
            settled("2")
        ]
    );
    assert_eq!(
        s.world.events().await,
        [
            "rollout.started",
            "rollout.shifted",
            "rollout.shifted",
            "rollout.succeeded"
        ]
    );
}

#[tokio::test]
async fn canary_rollout_promotes() {
    let s = Setup::new("orders").await;
    let spec = s.spec("orders", "LambdaCanary10Percent5Minutes");
    let rollout = s.start(&spec, t0()).await.expect("start");
    let (done, seen) = s.drive_to_end(rollout).await;
    assert_eq!(done.status, Status::Succeeded);
    assert_eq!(seen, [routed("2", 0.1), settled("2")]);
}

#[tokio::test]
async fn all_at_once_promotes_in_one_call() {
    let s = Setup::new("orders").await;
    let done = s
        .start(&s.spec("orders", "AllAtOnce"), t0())
        .await
        .expect("start");
    assert_eq!((done.status, done.weight), (Status::Succeeded, 1.0));
    assert_eq!(s.world.alias("orders").await.version, "2");
    assert_eq!(s.world.events().await, ["rollout.succeeded"]);
}

#[tokio::test]
async fn rolls_back_when_an_alarm_fires_mid_rollout() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let spec = s
        .spec("orders", "Linear10PercentEvery1Minute")
        .alarms(["orders-errors"]);
    let start = t0();
    let first = s.start(&spec, start).await.expect("start");
    // The rollout's own clock: its start waited for the version to be Active.
    let start = first.started_at;
    let second = s.step(&first, later(start, 60)).await.expect("step");
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.2))
    );
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let back = s
        .step(&second, later(start, 70))
        .await
        .expect("rollback step");
    assert_eq!(back.status, Status::RolledBack);
    let alias = s.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    let notes = s.world.notifications().await;
    let rolled_back: Vec<_> = notes
        .iter()
        .filter(|n| n["event"] == "rollout.rolled_back")
        .collect();
    assert_eq!(rolled_back.len(), 1, "{notes:?}");
    let note = rolled_back[0];
    assert_eq!(note["_subject"], "orders:live rolled back 2 -> 1");
    assert_eq!(note["alarms"][0]["state"], "ALARM");
    assert_eq!(note["_attributes"]["severity"]["Value"], "critical");
    // Replaying the step after the rollback changes nothing; the alert it owes may go out
    // again, under the same eventId, so a subscriber keeps one.
    let before = s.world.alias("orders").await;
    let again = s
        .step(&second, later(start, 80))
        .await
        .expect("replayed step");
    assert_eq!(again.status, Status::RolledBack);
    assert_eq!(s.world.alias("orders").await, before);
    for resent in s.world.notifications().await {
        assert_eq!(resent["eventId"], note["eventId"], "{resent}");
    }
}

#[tokio::test]
async fn a_missing_alarm_refuses_the_rollout_and_leaves_the_alias() {
    let s = Setup::new("orders").await;
    let before = s.world.alias("orders").await;
    let spec = s
        .spec("orders", "Canary10Percent5Minutes")
        .alarms(["no-such-alarm"]);
    let err = s.start(&spec, t0()).await.expect_err("refused");
    assert!(
        matches!(err, DriveError::Invalid(ref f) if f.field == "alarms"),
        "{err}"
    );
    assert_eq!(s.world.alias("orders").await, before);
    assert!(s.world.events().await.is_empty());
}

#[tokio::test]
async fn an_alarm_already_firing_refuses_the_rollout() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let before = s.world.alias("orders").await;
    let spec = s
        .spec("orders", "Canary10Percent5Minutes")
        .alarms(["orders-errors"]);
    let err = s.start(&spec, t0()).await.expect_err("refused");
    assert!(
        matches!(err, DriveError::Refused(Refusal::Unhealthy(_))),
        "{err}"
    );
    assert_eq!(s.world.alias("orders").await, before);
}

#[tokio::test]
async fn an_unknown_target_version_is_refused() {
    let s = Setup::new("orders").await;
    let mut spec = s.spec("orders", "AllAtOnce");
    spec.target_version = "9".into();
    let err = s.start(&spec, t0()).await.expect_err("refused");
    assert!(
        matches!(err, DriveError::Invalid(ref f) if f.field == "targetVersion"),
        "{err}"
    );
    assert_eq!(s.world.alias("orders").await.version, "1");
}

#[tokio::test]
async fn aborts_and_keeps_a_change_made_by_someone_else() {
    let s = Setup::new("orders").await;
    let start = t0();
    let first = s
        .start(&s.spec("orders", "Linear10PercentEvery1Minute"), start)
        .await
        .expect("start");
    // The rollout's own clock: its start waited for the version to be Active.
    let start = first.started_at;
    s.world.set_alias("orders", "1", Some(("2", 0.5))).await;
    let ended = s.step(&first, later(start, 60)).await.expect("step");
    assert_eq!(ended.status, Status::Aborted, "{ended:?}");
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.5)),
        "their change is kept"
    );
    assert_eq!(
        s.world.events().await,
        ["rollout.started", "rollout.aborted"]
    );
}

#[tokio::test]
async fn replaying_the_same_state_shifts_once() {
    let s = Setup::new("orders").await;
    let start = t0();
    let first = s
        .start(&s.spec("orders", "Linear10PercentEvery1Minute"), start)
        .await
        .expect("start");
    // The rollout's own clock: its start waited for the version to be Active.
    let start = first.started_at;
    let second = s.step(&first, later(start, 60)).await.expect("step");
    let replayed = s
        .step(&first, later(start, 61))
        .await
        .expect("replayed step");
    assert_eq!(
        (replayed.step_index, replayed.weight),
        (second.step_index, second.weight)
    );
    assert_eq!(replayed.alias_revision_id, second.alias_revision_id);
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.2))
    );
    assert_eq!(
        s.world.kept_events().await,
        ["rollout.started", "rollout.shifted"]
    );
    // A replayed start is harmless too: it reports the rollout in flight.
    let restarted = s
        .start(&first.spec, later(start, 62))
        .await
        .expect("replayed start");
    assert_eq!(
        (restarted.rollout_id, restarted.step_index),
        (first.rollout_id.clone(), 1)
    );
}

#[tokio::test]
async fn a_breach_during_bake_time_puts_the_current_version_back() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let mut spec = s.spec("orders", "AllAtOnce").alarms(["orders-errors"]);
    spec.bake_time = Some(600);
    let start = t0();
    let baking = s.start(&spec, start).await.expect("start");
    // The rollout's own clock: its start waited for the version to be Active.
    let start = baking.started_at;
    assert_eq!((baking.status, baking.weight), (Status::InProgress, 1.0));
    assert_eq!(s.world.alias("orders").await.version, "2");
    let still = s
        .step(&baking, later(start, 30))
        .await
        .expect("check during bake");
    assert_eq!(still.status, Status::InProgress);
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let back = s
        .step(&still, later(start, 60))
        .await
        .expect("breach during bake");
    assert_eq!(back.status, Status::RolledBack);
    assert_eq!(s.world.alias("orders").await.version, "1");
}

#[tokio::test]
async fn insufficient_data_does_not_stop_a_rollout() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    s.world
        .set_alarm("orders-errors", StateValue::InsufficientData)
        .await;
    let spec = s
        .spec("orders", "Canary10Percent5Minutes")
        .alarms(["orders-errors"]);
    let rollout = s.start(&spec, t0()).await.expect("start");
    let (done, _) = s.drive_to_end(rollout).await;
    assert_eq!(done.status, Status::Succeeded);
}

/// The emulator allocates provisioned concurrency at once (READY), so this shows the wiring:
/// each new weight waits for its allocation before its hold starts. IN_PROGRESS and FAILED
/// are covered on the adapter's recorded answers and the engine's decisions.
#[tokio::test]
async fn with_provisioned_concurrency_each_step_holds_only_once_its_weights_are_allocated() {
    let s = Setup::new("orders").await;
    s.world
        .lambda
        .put_provisioned_concurrency_config()
        .function_name("orders")
        .qualifier("live")
        .provisioned_concurrent_executions(2)
        .send()
        .await
        .expect("put_provisioned_concurrency_config");
    let spec = s.spec("orders", "50%:1m");
    let first = s.start(&spec, t0()).await.expect("start");
    assert_eq!(
        first.provisioned_concurrency,
        Some(Provisioning::Allocating)
    );
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.5))
    );
    let at = first.started_at + chrono::Duration::seconds(5);
    let holding = s.step(&first, at).await.expect("allocation READY");
    assert_eq!(holding.provisioned_concurrency, Some(Provisioning::Ready));
    assert_eq!(
        holding.next_step_at,
        Some(later(at, 60)),
        "the hold starts at READY"
    );
    let (done, _) = s.drive_to_end(holding).await;
    assert_eq!(done.status, Status::Succeeded, "{done:?}");
    assert_eq!(s.world.alias("orders").await.version, "2");
    assert_eq!(
        s.world.events().await,
        ["rollout.started", "rollout.shifted", "rollout.succeeded"]
    );
}
