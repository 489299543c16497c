//! pre-traffic-hook: CodeDeploy's `BeforeAllowTraffic` hook for any function: finds the
//! function and versions in the deployment's AppSpec, checks the target version, the alarms
//! and an optional smoke test, and always answers CodeDeploy, even when a check crashes.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use pre_traffic_hook::answer;
use rollout_usecases::hooks::{HookKind, HookSettings};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A bad configuration does not stop the start: each deployment is answered Failed.
    let hook = rollout_aws::hook(
        HookKind::PreTraffic,
        &rollout_aws::load_config().await,
        HookSettings::from_env(),
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| answer(&hook, event))).await
}
