//! The canary judgement against ministack: per-version metrics written with PutMetricData as
//! Lambda would (namespace AWS/Lambda, FunctionName + Resource + ExecutedVersion), read back
//! with one GetMetricData call, and rollouts that promote, roll back or extend on them.

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
use chrono::Utc;
use rollout_core::{Analysis, Spec, Status, Verdict};
use rollout_usecases::ports::{MetricsQuery, MetricsSource};

use crate::{later, t0, Setup};

fn judged(s: &Setup, strategy: &str, analysis: serde_json::Value) -> Spec {
    s.spec("orders", strategy)
        .analysis(Analysis::from_json(&analysis).expect("analysis"))
}

#[tokio::test]
async fn the_adapter_reads_each_versions_metrics_by_its_dimensions() {
    let s = Setup::new("orders").await;
    let start = Utc::now() - chrono::Duration::seconds(60);
    s.world
        .put_version_metrics("orders", "2", 200, 7, 41.0)
        .await;
    s.world
        .put_version_metrics("orders", "1", 1800, 5, 38.0)
        .await;
    let query = MetricsQuery {
        function: "orders".into(),
        alias: "live".into(),
        target: "2".into(),
        current: "1".into(),
        start,
        end: Utc::now(),
    };
    let (target, current) = s.adapters.metrics.versions(&query).await.expect("read");
    assert_eq!(
        (target.version.as_str(), target.invocations, target.errors),
        ("2", 200, 7)
    );
    assert_eq!(
        (
            current.version.as_str(),
            current.invocations,
            current.errors
        ),
        ("1", 1800, 5)
    );
    eprintln!(
        "p99 read back: target {:?}, current {:?}",
        target.p99_ms, current.p99_ms
    );
}

#[tokio::test]
async fn a_healthy_canary_is_promoted_on_its_own_numbers() {
    let s = Setup::new("orders").await;
    let spec = judged(&s, "Canary10Percent5Minutes", serde_json::json!({}));
    let at = t0();
    let rollout = s.start(&spec, at).await.expect("start");
    // A start that waited for the fresh version moves its clock: count from its start.
    let at = rollout.started_at;
    s.world
        .put_version_metrics("orders", "2", 200, 0, 40.0)
        .await;
    s.world
        .put_version_metrics("orders", "1", 1800, 2, 40.0)
        .await;
    let done = s.step(&rollout, later(at, 300)).await.expect("step");
    assert_eq!(done.status, Status::Succeeded, "{:?}", done.reason);
    assert_eq!(done.last_judgement.unwrap().verdict, Verdict::Pass);
}

#[tokio::test]
async fn a_bad_canary_at_ten_percent_is_rolled_back_while_the_alias_alarm_stays_ok() {
    let s = Setup::new("orders").await;
    // The usual alias-wide alarm: more than 50 errors a minute through orders:live.
    let dimension = |n: &str, v: &str| Dimension::builder().name(n).value(v).build();
    s.world
        .cloudwatch
        .put_metric_alarm()
        .alarm_name("orders-alias-errors")
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .dimensions(dimension("FunctionName", "orders"))
        .dimensions(dimension("Resource", "orders:live"))
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(50.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("put_metric_alarm");
    let spec = judged(&s, "Canary10Percent5Minutes", serde_json::json!({}))
        .alarms(["orders-alias-errors"]);
    let at = t0();
    let rollout = s.start(&spec, at).await.expect("start");
    // A start that waited for the fresh version moves its clock: count from its start.
    let at = rollout.started_at;
    // 30 % of the canary's calls fail: 3 points on the alias, under a typical threshold.
    s.world
        .put_version_metrics("orders", "2", 100, 30, 40.0)
        .await;
    s.world
        .put_version_metrics("orders", "1", 900, 9, 40.0)
        .await;
    let back = s.step(&rollout, later(at, 60)).await.expect("step");
    assert_eq!(back.status, Status::RolledBack);
    let alarm = s
        .world
        .cloudwatch
        .describe_alarms()
        .alarm_names("orders-alias-errors")
        .send()
        .await
        .expect("describe_alarms");
    assert_ne!(
        alarm.metric_alarms()[0].state_value(),
        Some(&StateValue::Alarm)
    );
    let reason = back.reason.clone().unwrap();
    assert!(
        reason.contains("v2 failed 30 of 100 calls (30%)"),
        "{reason}"
    );
    let alias = s.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    let alerts = s.world.notifications().await;
    let alert = alerts
        .iter()
        .find(|n| n["event"] == "rollout.rolled_back")
        .expect("a rolled_back alert");
    assert_eq!(alert["lastJudgement"]["verdict"], "fail", "{alert}");
    assert_eq!(alert["lastJudgement"]["target"]["errors"], 30);
}

#[tokio::test]
async fn a_canary_with_no_traffic_extends_then_fails() {
    let s = Setup::new("orders").await;
    let spec = judged(
        &s,
        "Canary10Percent5Minutes",
        serde_json::json!({"maxExtension": "2m"}),
    );
    let at = t0();
    let rollout = s.start(&spec, at).await.expect("start");
    // A start that waited for the fresh version moves its clock: count from its start.
    let at = rollout.started_at;
    let held = s.step(&rollout, later(at, 300)).await.expect("step");
    assert_eq!((held.status, held.step_index), (Status::InProgress, 0));
    assert_eq!(
        held.last_judgement.as_ref().unwrap().verdict,
        Verdict::Insufficient
    );
    assert!(
        held.wait_seconds > 0 && held.wait_seconds <= 60,
        "{}",
        held.wait_seconds
    );
    let failed = s.step(&held, later(at, 420)).await.expect("step");
    assert_eq!(failed.status, Status::RolledBack);
    assert!(
        failed.reason.unwrap().contains("too few calls"),
        "rolled back for want of calls"
    );
    assert_eq!(s.world.alias("orders").await.routing, None);
}

#[tokio::test]
async fn a_latency_regression_is_caught() {
    let s = Setup::new("orders").await;
    let spec = judged(
        &s,
        "Canary10Percent5Minutes",
        serde_json::json!({"maxLatencyRatio": 1.5, "minInvocations": 50}),
    );
    let at = t0();
    let rollout = s.start(&spec, at).await.expect("start");
    // A start that waited for the fresh version moves its clock: count from its start.
    let at = rollout.started_at;
    s.world
        .put_version_metrics("orders", "2", 200, 0, 400.0)
        .await;
    s.world
        .put_version_metrics("orders", "1", 1800, 0, 40.0)
        .await;
    let back = s.step(&rollout, later(at, 60)).await.expect("step");
    let j = back.last_judgement.clone().expect("judged");
    assert_eq!(back.status, Status::RolledBack, "{}", j.reason);
    assert!(j.reason.contains("p99"), "{}", j.reason);
}
