//! alarm-rollback: on a CloudWatch alarm going to ALARM, puts every alias it guards that is
//! mid-rollout back on its current version, then notifies. Rollback first, always.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use rollout::aws::{load_config, Adapters};
use rollout::config::FunctionConfig;
use rollout::guard::{handle, AlarmChange};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rollout::logging::init_for_lambda();
    let config = FunctionConfig::from_env()?;
    let adapters = Adapters::new(&load_config().await);
    let driver = adapters.driver("alarm-rollback", &[], config.topic_arn.as_deref());
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
        let change =
            AlarmChange::parse(event.payload).map_err(|e| diagnostic("InvalidInput", e))?;
        let report = handle(
            &driver,
            &adapters.aliases,
            &adapters.alarms,
            change,
            chrono::Utc::now(),
        )
        .await
        .map_err(|e| diagnostic(e.error_type(), e))?;
        Ok::<_, Diagnostic>(serde_json::to_value(report).expect("report serializes"))
    }))
    .await
}

fn diagnostic(error_type: &str, error: impl std::fmt::Display) -> Diagnostic {
    tracing::error!(error_type, %error, "event failed");
    Diagnostic {
        error_type: error_type.into(),
        error_message: error.to_string(),
    }
}
