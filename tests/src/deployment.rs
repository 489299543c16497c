//! CodeDeploy deployments as the recording stub serves them: AppSpecs for a Lambda resource
//! (YAML or JSON), `GetDeployment` answers carrying one, the lifecycle hook event CodeDeploy
//! sends to a hook, and the answers a hook gave back.

use serde_json::{json, Value};

use crate::RecordingStub;

/// The hook execution id every test event carries.
pub const HOOK_EXECUTION_ID: &str = "hook-execution-1";

/// An AppSpec in YAML, the way CodeDeploy's documentation writes it.
pub fn appspec_yaml(function: &str, alias: &str, current: &str, target: &str) -> String {
    format!(
        "version: 0.0\nResources:\n  - {function}Function:\n      Type: AWS::Lambda::Function\n      \
         Properties:\n        Name: \"{function}\"\n        Alias: \"{alias}\"\n        \
         CurrentVersion: \"{current}\"\n        TargetVersion: \"{target}\"\n\
         Hooks:\n  - BeforeAllowTraffic: \"CodeDeployHook_preTraffic\"\n"
    )
}

/// An AppSpec in JSON, with the versions as numbers (as some templates write them).
pub fn appspec_json(function: &str, alias: &str, current: u64, target: u64) -> String {
    json!({
        "version": 0.0,
        "Resources": [{format!("{function}Function"): {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Name": function, "Alias": alias, "CurrentVersion": current, "TargetVersion": target}
        }}],
        "Hooks": [{"AfterAllowTraffic": "CodeDeployHook_postTraffic"}]
    })
    .to_string()
}

/// The `GetDeployment` answer for a Lambda deployment whose revision is `appspec`.
pub fn get_deployment(deployment_id: &str, appspec: &str) -> Value {
    json!({"deploymentInfo": {
        "deploymentId": deployment_id,
        "applicationName": "orders-app",
        "deploymentGroupName": "orders-dg",
        "computePlatform": "Lambda",
        "status": "InProgress",
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec}},
    }})
}

/// The event CodeDeploy invokes a hook with.
pub fn hook_event(deployment_id: &str) -> Value {
    json!({"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": HOOK_EXECUTION_ID})
}

/// The statuses a hook answered, in order (`Succeeded` / `Failed`), checking each answer
/// named the right deployment and hook execution.
pub fn answers(stub: &RecordingStub, deployment_id: &str) -> Vec<String> {
    stub.calls("PutLifecycleEventHookExecutionStatus")
        .iter()
        .map(|body| {
            assert_eq!(body["deploymentId"], deployment_id, "{body}");
            assert_eq!(
                body["lifecycleEventHookExecutionId"], HOOK_EXECUTION_ID,
                "{body}"
            );
            body["status"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}
