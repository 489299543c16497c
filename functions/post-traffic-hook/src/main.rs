//! post-traffic-hook: CodeDeploy's `AfterAllowTraffic` hook for any function. It finds the
//! function and versions in the deployment's AppSpec, watches the alarms for `BAKE_SECONDS`
//! (failing as soon as one fires), and always answers CodeDeploy, even when a check crashes.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use rollout::aws::load_config;
use rollout::hooks::{deadline_from_epoch_millis, Hook, HookKind, HookSettings};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rollout::logging::init_for_lambda();
    // A bad configuration does not stop the start: each deployment is answered Failed.
    let settings = HookSettings::from_env();
    if let Err(e) = &settings {
        tracing::error!(error = %e, "invalid configuration; every hook will answer Failed");
    }
    let hook = Hook::new(HookKind::PostTraffic, &load_config().await, settings);
    let hook = &hook;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = deadline_from_epoch_millis(event.context.deadline);
        let report = hook.handle(event.payload, deadline).await.map_err(|e| {
            tracing::error!(error_type = e.error_type(), error = %e, "hook failed");
            Diagnostic {
                error_type: e.error_type().into(),
                error_message: e.to_string(),
            }
        })?;
        Ok::<_, Diagnostic>(serde_json::to_value(report).expect("report serializes"))
    }))
    .await
}
