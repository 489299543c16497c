//! The pre-traffic hook: discovery from YAML and JSON AppSpecs, each check failing on its
//! own, and an answer to CodeDeploy in every case.

use aws_sdk_cloudwatch::types::StateValue;
use rollout_testkit::deployment::{appspec_json, appspec_yaml};
use rollout_usecases::hooks::HookKind;
use serde_json::json;

use crate::{Setup, DEPLOYMENT};

const SMOKE: [(&str, &str); 3] = [
    ("ALARM_NAMES", "orders-errors"),
    ("SMOKE_TEST_PAYLOAD", r#"{"ping": "smoke"}"#),
    (
        "SMOKE_TEST_EXPECT",
        r#"{"tag": "two", "echo": {"ping": "smoke"}}"#,
    ),
];

#[tokio::test]
async fn a_healthy_target_from_a_yaml_appspec_is_answered_succeeded() {
    let s = Setup::new().await;
    let report = s
        .run(&s.hook(HookKind::PreTraffic, &SMOKE), 30)
        .await
        .expect("hook");
    assert_eq!(report.status, "Succeeded", "{report:?}");
    assert!(
        report.reason.contains("version 2 of orders is Active"),
        "{report:?}"
    );
    assert!(report.reason.contains("answered as expected"), "{report:?}");
    assert_eq!(s.answers(), ["Succeeded"]);
    let note = s.notification().await;
    assert_eq!(note["event"], "hook.succeeded");
    assert_eq!(note["rolloutId"], DEPLOYMENT);
    assert_eq!(
        (&note["functionName"], &note["alias"]),
        (&json!("orders"), &json!("live"))
    );
    assert_eq!(
        (&note["fromVersion"], &note["toVersion"]),
        (&json!("1"), &json!("2"))
    );
    assert_eq!(note["source"], "pre-traffic-hook");
    assert_eq!(note["_attributes"]["severity"]["Value"], "info");
    assert_eq!(
        note["alarms"],
        json!([{"name": "orders-errors", "state": "OK"}])
    );
}

#[tokio::test]
async fn a_json_appspec_with_numeric_versions_is_read_too() {
    let s = Setup::new().await;
    s.appspec(&appspec_json("orders", "live", 1, 2));
    let report = s
        .run(&s.hook(HookKind::PreTraffic, &SMOKE), 30)
        .await
        .expect("hook");
    assert_eq!(report.status, "Succeeded", "{report:?}");
    let target = report.target.expect("discovered");
    assert_eq!(
        (
            target.current_version.as_str(),
            target.target_version.as_str()
        ),
        ("1", "2")
    );
    assert_eq!(s.answers(), ["Succeeded"]);
}

#[tokio::test]
async fn a_missing_target_version_is_answered_failed() {
    let s = Setup::new().await;
    s.appspec(&appspec_yaml("orders", "live", "1", "9"));
    let report = s
        .run(&s.hook(HookKind::PreTraffic, &SMOKE), 30)
        .await
        .expect("hook");
    assert_eq!(report.status, "Failed");
    assert_eq!(report.reason, "version 9 of orders does not exist");
    assert_eq!(s.answers(), ["Failed"]);
    let note = s.notification().await;
    assert_eq!(note["event"], "hook.failed");
    assert_eq!(note["reason"], "version 9 of orders does not exist");
    assert_eq!(note["_attributes"]["severity"]["Value"], "critical");
    assert_eq!(note["_subject"], "orders:live hook failed for 9");
}

#[tokio::test]
async fn an_alarm_in_alarm_is_answered_failed_with_its_state() {
    let s = Setup::new().await;
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let report = s
        .run(&s.hook(HookKind::PreTraffic, &SMOKE), 30)
        .await
        .expect("hook");
    assert_eq!(report.status, "Failed");
    assert_eq!(report.reason, "alarm orders-errors is in ALARM");
    assert_eq!(s.answers(), ["Failed"]);
    let note = s.notification().await;
    assert_eq!(
        note["alarms"],
        json!([{"name": "orders-errors", "state": "ALARM"}])
    );
}

#[tokio::test]
async fn a_missing_alarm_fails_closed() {
    let s = Setup::new().await;
    let hook = s.hook(
        HookKind::PreTraffic,
        &[("ALARM_NAMES", "orders-errors,no-such-alarm")],
    );
    let report = s.run(&hook, 30).await.expect("hook");
    assert_eq!(report.status, "Failed");
    assert!(
        report.reason.contains("alarm no-such-alarm does not exist"),
        "{report:?}"
    );
    assert_eq!(s.answers(), ["Failed"]);
}

#[tokio::test]
async fn a_smoke_answer_without_the_expected_subset_fails_with_evidence() {
    let s = Setup::new().await;
    let hook = s.hook(
        HookKind::PreTraffic,
        &[
            ("SMOKE_TEST_PAYLOAD", r#"{"ping": "smoke"}"#),
            ("SMOKE_TEST_EXPECT", r#"{"tag": "one"}"#),
        ],
    );
    let report = s.run(&hook, 30).await.expect("hook");
    assert_eq!(report.status, "Failed");
    assert!(
        report
            .reason
            .contains(r#"$.tag: expected "one", got "two""#),
        "{report:?}"
    );
    // The first bytes of the answer are the evidence.
    assert!(
        report.reason.contains(r#""ping":"smoke""#) || report.reason.contains(r#""ping": "smoke""#),
        "{report:?}"
    );
    assert_eq!(s.answers(), ["Failed"]);
    let note = s.notification().await;
    assert!(
        note["reason"].as_str().unwrap().contains("\"tag\""),
        "{note}"
    );
}

#[tokio::test]
async fn a_failing_get_deployment_is_still_answered_failed() {
    let s = Setup::new().await;
    s.stub.respond(
        "GetDeployment",
        400,
        json!({"__type": "DeploymentDoesNotExistException", "message": "no such deployment"}),
    );
    let err = s
        .run(&s.hook(HookKind::PreTraffic, &SMOKE), 30)
        .await
        .expect_err("the hook reports its failure to discover");
    assert_eq!(err.error_type(), "DiscoveryFailed");
    assert!(err.to_string().contains("no such deployment"), "{err}");
    assert_eq!(s.answers(), ["Failed"]);
    let note = s.notification().await;
    assert_eq!(note["event"], "hook.failed");
    assert_eq!(note["rolloutId"], DEPLOYMENT);
}

#[tokio::test]
async fn a_refused_answer_makes_the_invocation_fail() {
    let s = Setup::new().await;
    s.stub.respond(
        "PutLifecycleEventHookExecutionStatus",
        400,
        json!({"__type": "AccessDeniedException", "message": "not allowed"}),
    );
    let err = s
        .run(&s.hook(HookKind::PreTraffic, &SMOKE), 30)
        .await
        .expect_err("Lambda must retry");
    assert_eq!(err.error_type(), "AwsError");
    assert!(err.to_string().contains("not allowed"), "{err}");
    assert_eq!(s.answers(), ["Succeeded"], "it tried to answer once");
    // Until CodeDeploy has an answer the deployment waits: people hear of it at once.
    let note = s.notification().await;
    assert_eq!(note["event"], "hook.failed");
    assert!(
        note["reason"]
            .as_str()
            .unwrap()
            .contains("could not answer"),
        "{note}"
    );
}

#[tokio::test]
async fn a_target_published_a_moment_before_is_waited_for_and_answered_succeeded() {
    let s = Setup::new().await;
    let v3 = s.world.publish_version("orders", "three").await;
    s.appspec(&appspec_yaml("orders", "live", "1", &v3));
    let report = s
        .run(
            &s.hook(HookKind::PreTraffic, &[("ALARM_NAMES", "orders-errors")]),
            30,
        )
        .await
        .expect("hook");
    assert_eq!(report.status, "Succeeded", "{report:?}");
    assert!(
        report
            .reason
            .contains(&format!("version {v3} of orders is Active")),
        "{report:?}"
    );
    assert_eq!(s.answers(), ["Succeeded"]);
}

#[tokio::test]
async fn a_retried_hook_tells_again_what_codedeploy_recorded() {
    let s = Setup::new().await;
    // An earlier attempt answered Failed (and its alert was lost); this one finds CodeDeploy
    // already answered.
    s.stub.respond(
        "PutLifecycleEventHookExecutionStatus",
        400,
        json!({"__type": "LifecycleEventAlreadyCompletedException", "message": "already completed"}),
    );
    s.stub.respond(
        "ListDeploymentTargets",
        200,
        json!({"targetIds": ["orders:live"]}),
    );
    s.stub.respond(
        "BatchGetDeploymentTargets",
        200,
        json!({"deploymentTargets": [{
            "deploymentTargetType": "LambdaTarget",
            "lambdaTarget": {"lifecycleEvents": [
                {"lifecycleEventName": "BeforeAllowTraffic", "status": "Failed"}
            ]}
        }]}),
    );
    let report = s
        .run(&s.hook(HookKind::PreTraffic, &SMOKE), 30)
        .await
        .expect("a retry that found the answer given is done");
    assert!(!report.answered_now && report.notified, "{report:?}");
    let note = s.notification().await;
    assert_eq!(note["event"], "hook.failed", "what CodeDeploy has: {note}");
    assert_eq!(
        note["reason"],
        "an earlier attempt answered CodeDeploy Failed"
    );
    assert_eq!(s.stub.calls("BatchGetDeploymentTargets").len(), 1);
}
