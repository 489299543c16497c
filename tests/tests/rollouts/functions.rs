//! The real function binaries, run by ministack as `provided.al2023` functions through the
//! Lambda Runtime API, invoked the way Step Functions and EventBridge invoke them.

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::json;

use rollout_testkit::fixture::{function_logs, log_group};

use crate::Setup;

async fn shifter(s: &Setup) {
    let topic = s.world.topic_arn.clone();
    s.world
        .deploy_binary(
            "rollout-traffic-shifter",
            "traffic-shifter",
            &[("NOTIFICATION_TOPIC_ARN", &topic)],
        )
        .await;
}

#[tokio::test]
async fn traffic_shifter_binary_runs_a_rollout_to_promotion() {
    let s = Setup::new("orders").await;
    shifter(&s).await;
    let spec = json!({"functionName": "orders", "alias": "live", "targetVersion": "2", "strategy": "50%:0s"});
    let (error, state) = s.world.invoke("rollout-traffic-shifter", &spec).await;
    assert_eq!(error, None, "{state}");
    assert_eq!(
        (state["status"].as_str(), state["weight"].as_f64()),
        (Some("InProgress"), Some(0.5))
    );
    assert_eq!(state["waitSeconds"], 0);
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.5))
    );
    // The state goes back in as it came out, as Step Functions would pass it.
    let (error, done) = s.world.invoke("rollout-traffic-shifter", &state).await;
    assert_eq!(error, None, "{done}");
    assert_eq!(done["status"], "Succeeded");
    assert_eq!(s.world.alias("orders").await.version, "2");
    // The topic came from the function's environment.
    assert_eq!(
        s.world.events().await,
        ["rollout.started", "rollout.succeeded"]
    );
}

/// The `TrafficWeight` documents (CloudWatch's embedded metric format) in the shifter's log
/// group, in order: each must be a whole log event for CloudWatch Logs to extract it.
async fn embedded_weights(s: &Setup) -> (Vec<serde_json::Value>, Vec<String>) {
    let events = log_group(&s.stack, "rollout-traffic-shifter").await;
    let docs = events
        .iter()
        .filter_map(|event| serde_json::from_str::<serde_json::Value>(event.trim_end()).ok())
        .filter(|doc| doc.get("_aws").is_some() && doc.get("TrafficWeight").is_some())
        .collect();
    (docs, events)
}

/// Inside Lambda the weight is a log line CloudWatch Logs turns into the metric: each step's
/// weight is in the function's logs as it is applied, the end included, and no PutMetricData
/// is made (the function's role no longer allows it).
#[tokio::test]
async fn traffic_shifter_binary_logs_each_weight_as_an_embedded_metric() {
    let s = Setup::new("orders").await;
    shifter(&s).await;
    let spec = json!({"functionName": "orders", "alias": "live", "targetVersion": "2", "strategy": "10%:0s"});
    let before = chrono::Utc::now().timestamp_millis();
    let (error, state) = s.world.invoke("rollout-traffic-shifter", &spec).await;
    assert_eq!(error, None, "{state}");
    assert_eq!(state["weight"], 0.1, "{state}");
    let (docs, logs) = embedded_weights(&s).await;
    let [first] = docs.as_slice() else {
        panic!("not one TrafficWeight document after the first step in: {logs:#?}")
    };
    assert_eq!(first["TrafficWeight"], 10.0, "{first}");
    assert_eq!(
        (&first["FunctionName"], &first["Alias"]),
        (&json!("orders"), &json!("live"))
    );
    let directive = &first["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "LambdaRollout", "{first}");
    assert_eq!(directive["Dimensions"], json!([["FunctionName", "Alias"]]));
    assert_eq!(
        directive["Metrics"],
        json!([{"Name": "TrafficWeight", "Unit": "Percent", "StorageResolution": 1}])
    );
    let at = first["_aws"]["Timestamp"]
        .as_i64()
        .expect("Timestamp in ms");
    assert!(
        (before - 1_000..=chrono::Utc::now().timestamp_millis()).contains(&at),
        "{at}"
    );
    // The end: 100 goes out with it, not owed to a step that never comes.
    let (error, done) = s.world.invoke("rollout-traffic-shifter", &state).await;
    assert_eq!(error, None, "{done}");
    assert_eq!(done["status"], "Succeeded");
    assert!(done.get("unpublishedWeights").is_none(), "{done}");
    let (docs, logs) = embedded_weights(&s).await;
    let weights: Vec<_> = docs
        .iter()
        .map(|doc| doc["TrafficWeight"].as_f64())
        .collect();
    assert_eq!(weights, [Some(10.0), Some(100.0)], "{logs:#?}");
    let put = s
        .world
        .cloudwatch
        .list_metrics()
        .namespace("LambdaRollout")
        .send()
        .await
        .expect("list_metrics");
    assert!(put.metrics().is_empty(), "{:?}", put.metrics());
}

#[tokio::test]
async fn traffic_shifter_binary_waits_for_a_version_published_a_moment_ago() {
    let s = Setup::new("orders").await;
    shifter(&s).await;
    let v3 = s.world.publish_version("orders", "three").await;
    let spec = json!({"functionName": "orders", "alias": "live", "targetVersion": v3, "strategy": "50%:0s"});
    let (error, state) = s.world.invoke("rollout-traffic-shifter", &spec).await;
    assert_eq!(error, None, "{state}");
    assert_eq!(state["status"], "InProgress", "{state}");
    let (error, done) = s.world.invoke("rollout-traffic-shifter", &state).await;
    assert_eq!(error, None, "{done}");
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!(s.world.alias("orders").await.version, v3);
}

#[tokio::test]
async fn traffic_shifter_binary_refuses_an_invalid_spec_with_a_named_error_type() {
    let s = Setup::new("orders").await;
    shifter(&s).await;
    let before = s.world.alias("orders").await;
    let bad = json!({"functionName": "orders", "alias": "live", "targetVersion": "2", "strategy": "Canary0Percent5Minutes"});
    let (error, answer) = s.world.invoke("rollout-traffic-shifter", &bad).await;
    assert!(error.is_some(), "{answer}");
    assert_eq!(answer["errorType"], "InvalidInput");
    assert!(
        answer["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("strategy:"),
        "{answer}"
    );
    assert_eq!(s.world.alias("orders").await, before);
}

#[tokio::test]
async fn alarm_rollback_binary_restores_an_in_flight_alias() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let topic = s.world.topic_arn.clone();
    s.world
        .deploy_binary(
            "rollout-alarm-rollback",
            "alarm-rollback",
            &[("NOTIFICATION_TOPIC_ARN", &topic)],
        )
        .await;
    s.start(
        &s.spec("orders", "Canary10Percent5Minutes")
            .alarms(["orders-errors"]),
        crate::t0(),
    )
    .await
    .expect("start");
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let event = rollout_testkit::events::alarm_went_off(
        "orders-errors",
        &s.world.alarm_arn("orders-errors").await,
        json!({"FunctionName": "orders", "Resource": "orders:live"}),
    );
    let (error, report) = s.world.invoke("rollout-alarm-rollback", &event).await;
    assert_eq!(error, None, "{report}");
    assert_eq!(report["rolledBack"][0]["restoredVersion"], "1");
    let alias = s.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    let notes = s.world.notifications().await;
    assert_eq!(notes.last().unwrap()["event"], "rollout.rolled_back");
    assert_eq!(notes.last().unwrap()["source"], "alarm-rollback");
}

#[tokio::test]
async fn alarm_rollback_starts_on_its_own_settings_and_logs_json_as_lambda_asks() {
    let s = Setup::new("orders").await;
    // A hook's setting it never reads must not fail its cold start.
    s.world
        .deploy_binary(
            "rollout-alarm-rollback",
            "alarm-rollback",
            &[
                ("SMOKE_TEST_EXPECT", "{not json"),
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ],
        )
        .await;
    let event = rollout_testkit::events::load("alarm-state-change-ok.json");
    let (error, report) = s.world.invoke("rollout-alarm-rollback", &event).await;
    assert_eq!(error, None, "{report}");
    assert_eq!(report["state"], "OK");
    let logs = function_logs(&s.stack, "rollout-alarm-rollback").await;
    let line = logs
        .lines()
        .filter_map(|line| line.find('{').map(|at| &line[at..]))
        .filter_map(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        .find(|v| v["fields"]["message"] == "alarm state change");
    let line = line.unwrap_or_else(|| panic!("no JSON log line of the function in:\n{logs}"));
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["fields"]["state"], "OK", "{line}");
}

#[tokio::test]
async fn traffic_shifter_binary_rolls_back_a_bad_canary_and_answers_with_last_judgement() {
    let s = Setup::new("orders").await;
    shifter(&s).await;
    let spec = json!({"functionName": "orders", "alias": "live", "targetVersion": "2",
        "strategy": "10%:0s", "analysis": {}});
    let (error, state) = s.world.invoke("rollout-traffic-shifter", &spec).await;
    assert_eq!(error, None, "{state}");
    assert_eq!(state["stepStartedAt"], state["startedAt"], "{state}");
    s.world
        .put_version_metrics("orders", "2", 100, 40, 40.0)
        .await;
    s.world
        .put_version_metrics("orders", "1", 900, 1, 40.0)
        .await;
    let (error, back) = s.world.invoke("rollout-traffic-shifter", &state).await;
    assert_eq!(error, None, "{back}");
    assert_eq!(back["status"], "RolledBack", "{back}");
    assert_eq!(back["lastJudgement"]["verdict"], "fail", "{back}");
    assert_eq!(back["lastJudgement"]["target"]["invocations"], 100);
    assert_eq!(s.world.alias("orders").await.routing, None);
    let notes = s.world.notifications().await;
    assert_eq!(notes.last().unwrap()["lastJudgement"]["verdict"], "fail");
}

#[tokio::test]
async fn traffic_shifter_binary_refuses_bad_analysis_naming_the_field_and_touches_nothing() {
    let s = Setup::new("orders").await;
    shifter(&s).await;
    let before = s.world.alias("orders").await;
    for (analysis, field) in [
        (json!({"maxErrorRate": -0.1}), "analysis.maxErrorRate:"),
        (
            json!({"maxErrorRateIncrease": 1.5}),
            "analysis.maxErrorRateIncrease:",
        ),
        (json!({"confidence": 1.5}), "analysis.confidence:"),
        (json!({"confidance": 0.9}), "analysis:"),
    ] {
        let spec = json!({"functionName": "orders", "alias": "live", "targetVersion": "2",
            "strategy": "10%:0s", "analysis": analysis});
        let (error, answer) = s.world.invoke("rollout-traffic-shifter", &spec).await;
        assert!(error.is_some(), "{answer}");
        assert_eq!(answer["errorType"], "InvalidInput");
        let message = answer["errorMessage"].as_str().unwrap();
        assert!(message.starts_with(field), "{analysis}: {message}");
    }
    assert_eq!(s.world.alias("orders").await, before);
    assert!(s.world.events().await.is_empty());
}
