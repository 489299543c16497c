//! alarm-rollback's logic against real aliases and alarms: an in-flight alias goes back, a
//! settled one is left alone, and the shifter then ends without a second notification.

use alarm_rollback::parse_alarm_change;
use aws_sdk_cloudwatch::types::StateValue;
use rollout_aws::places::AwsPlaces;
use rollout_core::Status;
use rollout_usecases::alarm_rollback::roll_back_guarded;
use rollout_usecases::driver::StopScope;
use serde_json::Value;

use crate::{later, t0, Setup};

fn alarm_event(alarm: &str, function: &str, alias: Option<&str>, arn: &str) -> Value {
    let mut event = rollout_testkit::events::alarm_went_off(alarm, arn, Value::Null);
    let dimensions =
        &mut event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"];
    dimensions["FunctionName"] = function.into();
    match alias {
        Some(alias) => dimensions["Resource"] = format!("{function}:{alias}").into(),
        None => {
            dimensions.as_object_mut().unwrap().remove("Resource");
        }
    }
    event
}

async fn guard(s: &Setup, event: Value) -> rollout_usecases::alarm_rollback::AlarmRollbackReport {
    let topic = s.world.topic_arn.clone();
    let driver = s.adapters.driver("alarm-rollback", &[], Some(&topic));
    let change = parse_alarm_change(event).expect("event parses");
    let places = AwsPlaces::new(&s.adapters, &s.stack.sdk_config());
    roll_back_guarded(
        &driver,
        &s.adapters.aliases,
        &s.adapters.alarms,
        &places,
        change,
        StopScope::OurRollouts,
        t0(),
    )
    .await
    .expect("handled")
}

#[tokio::test]
async fn restores_an_in_flight_alias_and_the_shifter_then_ends_quietly() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let start = t0();
    let spec = s
        .spec("orders", "Linear10PercentEvery1Minute")
        .alarms(["orders-errors"]);
    let first = s.start(&spec, start).await.expect("start");
    // The rollout's own clock: its start waited for the version to be Active.
    let start = first.started_at;
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let arn = s.world.alarm_arn("orders-errors").await;

    let report = guard(
        &s,
        alarm_event("orders-errors", "orders", Some("live"), &arn),
    )
    .await;
    assert_eq!(report.rolled_back.len(), 1, "{report:?}");
    let alias = s.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));

    let ended = s.step(&first, later(start, 5)).await.expect("shifter step");
    assert_eq!(ended.status, Status::RolledBack);
    assert_eq!(
        s.world.events().await,
        ["rollout.started", "rollout.rolled_back"],
        "one rollback notice"
    );
}

#[tokio::test]
async fn leaves_a_settled_alias_alone() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let arn = s.world.alarm_arn("orders-errors").await;
    let before = s.world.alias("orders").await;
    let report = guard(
        &s,
        alarm_event("orders-errors", "orders", Some("live"), &arn),
    )
    .await;
    assert!(report.rolled_back.is_empty());
    assert_eq!(report.left_alone, ["orders:live"]);
    assert_eq!(s.world.alias("orders").await, before);
    assert!(s.world.events().await.is_empty());
}

#[tokio::test]
async fn an_ok_transition_does_nothing() {
    let s = Setup::new("orders").await;
    s.start(&s.spec("orders", "Canary10Percent5Minutes"), t0())
        .await
        .expect("start");
    let mut event = alarm_event(
        "orders-errors",
        "orders",
        Some("live"),
        "arn:aws:cloudwatch:us-east-1:000000000000:alarm:x",
    );
    event["detail"]["state"]["value"] = "OK".into();
    let report = guard(&s, event).await;
    assert!(report.rolled_back.is_empty() && report.left_alone.is_empty());
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.1))
    );
}

#[tokio::test]
async fn finds_guarded_aliases_from_the_tag() {
    let s = Setup::new("orders").await;
    s.world.function_with_two_versions("billing").await;
    s.world
        .alarm("shared-errors", "orders", Some("billing:live"))
        .await;
    s.world.set_alarm("shared-errors", StateValue::Alarm).await;
    let billing = s.spec("billing", "Canary10Percent5Minutes");
    s.start(&billing, t0()).await.expect("start billing");
    let arn = s.world.alarm_arn("shared-errors").await;
    // The metric names no alias; the tag names billing:live.
    let report = guard(&s, alarm_event("shared-errors", "unrelated-fn", None, &arn)).await;
    assert_eq!(report.rolled_back.len(), 1, "{report:?}");
    assert_eq!(s.world.alias("billing").await.routing, None);
    assert_eq!(s.world.alias("billing").await.version, "1");
}

#[tokio::test]
async fn a_replayed_alarm_event_is_harmless() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    s.start(&s.spec("orders", "Canary10Percent5Minutes"), t0())
        .await
        .expect("start");
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let arn = s.world.alarm_arn("orders-errors").await;
    let event = alarm_event("orders-errors", "orders", Some("live"), &arn);
    assert_eq!(guard(&s, event.clone()).await.rolled_back.len(), 1);
    let after_first = s.world.alias("orders").await;
    // Lambda's retry of the same event: no second write, and whatever it sends again
    // carries the same eventId, so a subscriber keeps one alert.
    guard(&s, event).await;
    assert_eq!(s.world.alias("orders").await, after_first);
    assert_eq!(
        s.world.kept_events().await,
        ["rollout.started", "rollout.rolled_back"]
    );
}

#[tokio::test]
async fn an_old_alarm_event_leaves_a_healthy_rollout_alone() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    s.world.set_alarm("orders-errors", StateValue::Ok).await;
    s.start(&s.spec("orders", "Canary10Percent5Minutes"), t0())
        .await
        .expect("start");
    let arn = s.world.alarm_arn("orders-errors").await;
    // The event is of an ALARM that is over: the alarm reads OK now.
    let report = guard(
        &s,
        alarm_event("orders-errors", "orders", Some("live"), &arn),
    )
    .await;
    assert!(report.rolled_back.is_empty(), "{report:?}");
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.1))
    );
}

#[tokio::test]
async fn leaves_alone_a_split_no_lambda_rollout_rollout_made() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    // CodeDeploy (or a person) is shifting this alias, not us.
    s.world.set_alias("orders", "1", Some(("2", 0.3))).await;
    let arn = s.world.alarm_arn("orders-errors").await;
    let report = guard(
        &s,
        alarm_event("orders-errors", "orders", Some("live"), &arn),
    )
    .await;
    assert!(report.rolled_back.is_empty(), "{report:?}");
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.3))
    );
}
