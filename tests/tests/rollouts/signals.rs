//! lambda-rollout's own signals, as their users read them: the `TrafficWeight` metric read
//! back with GetMetricData, the EventBridge events on a rule's SQS target, and the scheduled
//! judge's `CanaryVerdict`, with the real `rollout` command and the real canary-judge binary.

use aws_sdk_cloudwatch::types::StateValue;
use rollout_testkit::fixture::{
    binary, drain_queue, own_metric, rollout_cli_with, rollout_events_rule,
};
use rollout_testkit::stub::RecordingStub;
use serde_json::{json, Value};

use crate::Setup;

/// The values of a metric with repeats of one value in a row folded, as a graph shows them.
fn steps(values: Vec<f64>) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for v in values {
        if out.last() != Some(&v) {
            out.push(v);
        }
    }
    out
}

fn run_args<'a>(strategy: &'a str, topic: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        "--function",
        "orders",
        "--alias",
        "live",
        "--to",
        "2",
        "--strategy",
        strategy,
        "--alarm",
        "orders-errors",
        "--topic",
        topic,
        "--poll",
        "1s",
    ]
}

#[tokio::test]
async fn the_weight_metric_follows_a_rollouts_steps() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let out = rollout_cli_with(
        &s.stack,
        &[],
        &run_args("10%:1s,50%:1s", &s.world.topic_arn),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let weights = own_metric(&s.world.cloudwatch, "TrafficWeight", "orders", 1).await;
    assert_eq!(steps(weights), [10.0, 50.0, 100.0]);
}

/// Starts `rollout run` holding 10 % for an hour in the background, with `env` added.
fn spawn_run(s: &Setup, env: &[(&str, &str)]) -> std::thread::JoinHandle<std::process::Output> {
    let args: Vec<String> = run_args("10%:1h", &s.world.topic_arn)
        .iter()
        .map(|a| a.to_string())
        .collect();
    let env: Vec<(String, String)> = s
        .stack
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    std::thread::spawn(move || {
        std::process::Command::new(binary("rollout"))
            .args(&args)
            .envs(env)
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run rollout")
    })
}

#[tokio::test]
async fn a_rollback_puts_the_weight_metric_back_to_0() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let run = spawn_run(&s, &[]);
    s.world.until_split("orders").await;
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let out = run.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let weights = own_metric(&s.world.cloudwatch, "TrafficWeight", "orders", 1).await;
    assert_eq!(steps(weights), [10.0, 0.0]);
}

#[tokio::test]
async fn an_abort_puts_the_weight_metric_back_to_0() {
    let s = Setup::new("orders").await;
    // Started a minute ago (the clock the test moves), aborted now.
    let started = chrono::Utc::now() - chrono::Duration::seconds(60);
    s.start(&s.spec("orders", "Canary10Percent5Minutes"), started)
        .await
        .expect("start");
    let out = rollout_cli_with(
        &s.stack,
        &[],
        &[
            "abort",
            "--function",
            "orders",
            "--alias",
            "live",
            "--reason",
            "by hand",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.world.alias("orders").await.routing, None);
    let weights = own_metric(&s.world.cloudwatch, "TrafficWeight", "orders", 1).await;
    assert_eq!(steps(weights), [10.0, 0.0]);
}

/// A notification as the SNS subscriber got it, without the envelope's fields.
fn sns_json(mut n: Value) -> Value {
    let object = n.as_object_mut().expect("object");
    object.remove("_subject");
    object.remove("_attributes");
    n
}

#[tokio::test]
async fn every_event_lands_on_an_eventbridge_rule_with_the_sns_message_as_detail() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let queue = rollout_events_rule(&s.stack, &s.world.sqs).await;
    let out = rollout_cli_with(
        &s.stack,
        &[("EVENT_BUS_NAME", "default")],
        &run_args("50%:1s", &s.world.topic_arn),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let on_sns: Vec<Value> = s
        .world
        .notifications()
        .await
        .into_iter()
        .map(sns_json)
        .collect();
    let on_bus = drain_queue(&s.world.sqs, &queue).await;
    assert_eq!(on_sns.len(), 2, "{on_sns:?}");
    assert_eq!(on_bus.len(), on_sns.len(), "{on_bus:?}");
    for (event, message) in on_bus.iter().zip(&on_sns) {
        assert_eq!(event["source"], "lambda-rollout");
        assert_eq!(event["detail-type"], "Lambda Rollout State Change");
        assert_eq!(
            &event["detail"], message,
            "the detail is the SNS default message"
        );
    }
    let kinds: Vec<&str> = on_bus
        .iter()
        .map(|e| e["detail"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["rollout.started", "rollout.succeeded"]);
}

#[tokio::test]
async fn a_failing_event_bus_does_not_block_a_rollback() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    // EventBridge refuses every PutEvents (as for a role without events:PutEvents).
    let events = RecordingStub::start([(
        "PutEvents",
        400,
        json!({"__type": "AccessDeniedException", "message": "not authorized to put events"}),
    )]);
    let (endpoint_variable, endpoint) = events.env_for("EVENTBRIDGE");
    let run = spawn_run(
        &s,
        &[
            ("EVENT_BUS_NAME", "default"),
            (&endpoint_variable, &endpoint),
        ],
    );
    s.world.until_split("orders").await;
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let out = run.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let alias = s.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    assert_eq!(
        s.world.events().await,
        ["rollout.started", "rollout.rolled_back"]
    );
    assert!(
        stderr
            .contains("RolledBack, but the event could not be sent to EventBridge: access denied"),
        "{stderr}"
    );
    let tried: Vec<String> = events
        .calls("PutEvents")
        .iter()
        .map(|c| {
            c["Entries"][0]["Detail"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        tried.len(),
        2,
        "one try each, a refusal is not retried: {tried:?}"
    );
    assert!(tried[1].contains("rollout.rolled_back"), "{tried:?}");
}

#[tokio::test]
async fn the_canary_judge_publishes_1_for_a_bad_canary_and_0_otherwise() {
    let s = Setup::new("bad").await;
    for name in ["good", "calm"] {
        s.world.function_with_two_versions(name).await;
    }
    for name in ["bad", "good"] {
        s.world.set_alias(name, "1", Some(("2", 0.1))).await;
        s.world.put_version_metrics(name, "1", 900, 9, 20.0).await;
    }
    // As Lambda reports them: 30 of the bad canary's 100 calls failed, 1 of the good one's.
    s.world.put_version_metrics("bad", "2", 100, 30, 20.0).await;
    s.world.put_version_metrics("good", "2", 100, 1, 20.0).await;
    s.world
        .deploy_binary(
            "rollout-canary-judge",
            "canary-judge",
            &[
                ("JUDGED_ALIASES", "bad:live,good:live,calm:live"),
                ("ANALYSIS", r#"{"minInvocations": 50}"#),
                ("WINDOW", "10m"),
            ],
        )
        .await;
    let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let (error, report) = s.world.invoke("rollout-canary-judge", &scheduled).await;
    assert_eq!(error, None, "{report}");
    let verdicts: Vec<&str> = report["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .map(|v| v["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["fail", "pass", "notSplit"], "{report}");
    for (name, value) in [("bad", 1.0), ("good", 0.0), ("calm", 0.0)] {
        let read = own_metric(&s.world.cloudwatch, "CanaryVerdict", name, 60).await;
        assert_eq!(read, [value], "{name}");
    }
}

#[test]
fn bad_judge_settings_fail_its_cold_start_naming_the_variable() {
    for (vars, field) in [
        (&[("ANALYSIS", "{}")][..], "JUDGED_ALIASES"),
        (&[("JUDGED_ALIASES", "orders")][..], "JUDGED_ALIASES"),
        (
            &[
                ("JUDGED_ALIASES", "orders:live"),
                ("ANALYSIS", r#"{"confidence": 2}"#),
            ][..],
            "ANALYSIS",
        ),
        (
            &[("JUDGED_ALIASES", "orders:live"), ("WINDOW", "soon")][..],
            "WINDOW",
        ),
    ] {
        let out = std::process::Command::new(binary("canary-judge"))
            .env_clear()
            .envs(vars.iter().copied())
            .output()
            .expect("start canary-judge");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{vars:?} started");
        assert!(stderr.contains(&format!("{field}: ")), "{vars:?}: {stderr}");
    }
}
