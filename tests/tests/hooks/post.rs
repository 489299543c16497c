//! The post-traffic hook: it watches the alarms for the bake, polling, and fails as soon as
//! one fires rather than when the bake ends.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use rollout_usecases::hooks::HookKind;
use serde_json::json;

use crate::Setup;

#[tokio::test]
async fn bakes_then_answers_succeeded() {
    let s = Setup::new().await;
    let hook = s.hook(
        HookKind::PostTraffic,
        &[("ALARM_NAMES", "orders-errors"), ("BAKE_SECONDS", "2")],
    );
    let started = Instant::now();
    let report = s.run(&hook, 30).await.expect("hook");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "baked {:?}",
        started.elapsed()
    );
    assert_eq!(report.status, "Succeeded", "{report:?}");
    assert_eq!(report.reason, "no alarm in ALARM during a 2s bake");
    assert_eq!(s.answers(), ["Succeeded"]);
    let note = s.notification().await;
    assert_eq!(note["event"], "hook.succeeded");
    assert_eq!(note["source"], "post-traffic-hook");
    assert_eq!(note["weight"], json!(1.0));
}

#[tokio::test]
async fn an_alarm_during_the_bake_fails_it_before_the_bake_ends() {
    let s = Setup::new().await;
    let hook = s.hook(
        HookKind::PostTraffic,
        &[("ALARM_NAMES", "orders-errors"), ("BAKE_SECONDS", "20")],
    );
    let started = Instant::now();
    let fire = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    };
    let (report, ()) = tokio::join!(s.run(&hook, 60), fire);
    let report = report.expect("hook");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.status, "Failed");
    assert!(
        report
            .reason
            .starts_with("alarm orders-errors is in ALARM ("),
        "{report:?}"
    );
    assert!(report.reason.ends_with("into a 20s bake)"), "{report:?}");
    assert_eq!(s.answers(), ["Failed"]);
    let note = s.notification().await;
    assert_eq!(note["event"], "hook.failed");
    assert_eq!(
        note["alarms"],
        json!([{"name": "orders-errors", "state": "ALARM"}])
    );
}

#[tokio::test]
async fn with_analysis_the_new_versions_own_errors_fail_the_bake() {
    let s = Setup::new().await;
    // After 100 % there is no split: the target's own rate against the absolute limits.
    s.world
        .put_version_metrics("orders", "2", 400, 40, 40.0)
        .await;
    let hook = s.hook(
        HookKind::PostTraffic,
        &[
            ("BAKE_SECONDS", "1"),
            ("ANALYSIS", r#"{"maxErrorRate": 0.02}"#),
        ],
    );
    let report = s.run(&hook, 30).await.expect("hook");
    assert_eq!(report.status, "Failed");
    assert!(
        report
            .reason
            .contains("canary judgement failed: v2 failed 40 of 400 calls (10%)"),
        "{report:?}"
    );
    assert_eq!(s.answers(), ["Failed"]);
}
