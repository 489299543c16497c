//! The real hook binaries, run by ministack as `provided.al2023` functions through the Lambda
//! Runtime API and invoked with CodeDeploy's event; CodeDeploy itself is the recording stub,
//! reached through `AWS_ENDPOINT_URL_CODEDEPLOY` in the function's environment.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use rollout_testkit::deployment::hook_event;
use serde_json::json;

use crate::{Setup, DEPLOYMENT};

/// Deploys `binary` as `name` with `env`, the stub's endpoint and the topic.
async fn deploy(s: &Setup, name: &str, binary: &str, env: &[(&str, &str)]) {
    let (endpoint_var, endpoint) = s.stub.env_for("CODEDEPLOY");
    let topic = s.world.topic_arn.clone();
    let mut all: Vec<(&str, &str)> = vec![
        (endpoint_var.as_str(), endpoint.as_str()),
        ("NOTIFICATION_TOPIC_ARN", topic.as_str()),
    ];
    all.extend_from_slice(env);
    s.world.deploy_binary(name, binary, &all).await;
}

#[tokio::test]
async fn pre_traffic_hook_binary_smoke_tests_the_target_and_answers_succeeded() {
    let s = Setup::new().await;
    deploy(
        &s,
        "CodeDeployHook_preTraffic",
        "pre-traffic-hook",
        &[
            ("ALARM_NAMES", "orders-errors"),
            ("SMOKE_TEST_PAYLOAD", r#"{"ping": "smoke"}"#),
            ("SMOKE_TEST_EXPECT", r#"{"tag": "two", "version": "2"}"#),
        ],
    )
    .await;
    let (error, report) = s
        .world
        .invoke("CodeDeployHook_preTraffic", &hook_event(DEPLOYMENT))
        .await;
    assert_eq!(error, None, "{report}");
    assert_eq!(report["status"], "Succeeded", "{report}");
    assert_eq!(report["target"]["functionName"], "orders");
    assert_eq!(s.answers(), ["Succeeded"]);
    assert_eq!(s.notification().await["event"], "hook.succeeded");
}

#[tokio::test]
async fn post_traffic_hook_binary_fails_as_soon_as_an_alarm_fires() {
    let s = Setup::new().await;
    deploy(
        &s,
        "CodeDeployHook_postTraffic",
        "post-traffic-hook",
        &[
            ("ALARM_NAMES", "orders-errors"),
            ("BAKE_SECONDS", "20"),
            ("POLL_SECONDS", "1"),
        ],
    )
    .await;
    let event = hook_event(DEPLOYMENT);
    let started = Instant::now();
    let fire = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    };
    let ((error, report), ()) =
        tokio::join!(s.world.invoke("CodeDeployHook_postTraffic", &event), fire);
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(error, None, "{report}");
    assert_eq!(report["status"], "Failed", "{report}");
    assert_eq!(
        report["alarms"],
        json!([{"name": "orders-errors", "state": "ALARM"}])
    );
    assert_eq!(s.answers(), ["Failed"]);
    assert_eq!(s.notification().await["event"], "hook.failed");
}

#[tokio::test]
async fn a_hook_binary_with_a_bad_configuration_still_answers_failed() {
    let s = Setup::new().await;
    deploy(
        &s,
        "CodeDeployHook_preTraffic",
        "pre-traffic-hook",
        &[("SMOKE_TEST_EXPECT", "{not json")],
    )
    .await;
    let (error, answer) = s
        .world
        .invoke("CodeDeployHook_preTraffic", &hook_event(DEPLOYMENT))
        .await;
    assert!(error.is_some(), "{answer}");
    assert_eq!(answer["errorType"], "InvalidConfiguration", "{answer}");
    assert!(
        answer["errorMessage"]
            .as_str()
            .unwrap()
            .contains("SMOKE_TEST_EXPECT"),
        "{answer}"
    );
    assert_eq!(s.answers(), ["Failed"]);
}
