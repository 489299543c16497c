//! traffic-shifter: one rollout step per invocation (a spec starts, a state steps, an abort
//! action rolls back, a CodePipeline job does either and reports the job's result). Clients
//! and configuration are built once, at cold start.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use rollout::aws::pipeline::CodePipelineResults;
use rollout::aws::{load_config, Adapters};
use rollout::config::FunctionConfig;
use rollout::shifter::dispatch;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rollout::logging::init_for_lambda();
    let config = FunctionConfig::from_env()?;
    let sdk = load_config().await;
    let adapters = Adapters::new(&sdk);
    let results = CodePipelineResults::from_config(&sdk);
    let driver = adapters.driver(
        "traffic-shifter",
        &config.alarm_names,
        config.topic_arn.as_deref(),
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
        // The event is never logged whole: a pipeline job carries artifact credentials.
        dispatch(&driver, &results, event.payload, chrono::Utc::now())
            .await
            .map_err(|f| {
                tracing::error!(error_type = f.error_type, error = %f.message, "request failed");
                Diagnostic {
                    error_type: f.error_type.into(),
                    error_message: f.message,
                }
            })
    }))
    .await
}
