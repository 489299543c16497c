//! The CodeDeploy SDK client against the recording stub: configured answers
//! parse, refusals become typed SDK errors, and requests are recorded.

use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::operation::put_lifecycle_event_hook_execution_status::PutLifecycleEventHookExecutionStatusError;
use aws_sdk_codedeploy::types::LifecycleEventStatus;
use rollout_testkit::RecordingStub;
use serde_json::{json, Value};

#[tokio::test]
async fn codedeploy_calls_are_answered_and_recorded_by_the_stub() {
    let appspec = json!({"Resources": [{"orders": {"Type": "AWS::Lambda::Function", "Properties": {
        "Name": "orders", "Alias": "live", "CurrentVersion": "6", "TargetVersion": "7"}}}]});
    let deployment = json!({"deploymentInfo": {
        "deploymentId": "d-SMOKE0001",
        "applicationName": "orders-app",
        "deploymentGroupName": "orders-dg",
        "computePlatform": "Lambda",
        "status": "InProgress",
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec.to_string()}},
    }});
    let stub = RecordingStub::start([("GetDeployment", 200, deployment)]);
    let codedeploy = aws_sdk_codedeploy::Client::new(&stub.sdk_config());

    let out = codedeploy
        .get_deployment()
        .deployment_id("d-SMOKE0001")
        .send()
        .await
        .expect("get_deployment");
    let info = out.deployment_info().expect("deploymentInfo");
    assert_eq!(info.deployment_id(), Some("d-SMOKE0001"));
    let content = info
        .revision()
        .and_then(|r| r.app_spec_content())
        .and_then(|a| a.content());
    assert_eq!(
        content.map(|c| serde_json::from_str::<Value>(c).unwrap()),
        Some(appspec)
    );

    stub.respond(
        "PutLifecycleEventHookExecutionStatus",
        400,
        json!({"__type": "LifecycleEventAlreadyCompletedException", "message": "already completed"}),
    );
    let refused = codedeploy
        .put_lifecycle_event_hook_execution_status()
        .deployment_id("d-SMOKE0001")
        .lifecycle_event_hook_execution_id("hook-1")
        .status(LifecycleEventStatus::Succeeded)
        .send()
        .await
        .expect_err("the stub refuses")
        .into_service_error();
    assert!(
        matches!(
            refused,
            PutLifecycleEventHookExecutionStatusError::LifecycleEventAlreadyCompletedException(_)
        ),
        "{refused:?}"
    );
    assert_eq!(refused.message(), Some("already completed"));

    let requests = stub.requests();
    let targets: Vec<&str> = requests.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "CodeDeploy_20141006.GetDeployment",
            "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus"
        ]
    );
    assert_eq!(requests[0].body, json!({"deploymentId": "d-SMOKE0001"}));
    assert_eq!(
        stub.calls("PutLifecycleEventHookExecutionStatus"),
        [
            json!({"deploymentId": "d-SMOKE0001", "lifecycleEventHookExecutionId": "hook-1", "status": "Succeeded"})
        ]
    );
}
