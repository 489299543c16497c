//! traffic-shifter: one rollout step per invocation (a spec starts, a state steps, an abort
//! action rolls back). Clients and configuration are built once, at cold start.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use rollout::aws::{load_config, Adapters};
use rollout::config::FunctionConfig;
use rollout::shifter::{handle, ShifterRequest};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::from_default_env()
                .add_directive(tracing::Level::INFO.into()),
        )
        .without_time()
        .init();
    let config = FunctionConfig::from_env()?;
    let adapters = Adapters::new(&load_config().await);
    let driver = adapters.driver(
        "traffic-shifter",
        &config.alarm_names,
        config.topic_arn.as_deref(),
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
        // The event is never logged whole: a pipeline job carries artifact credentials.
        let request =
            ShifterRequest::parse(event.payload).map_err(|e| diagnostic("InvalidInput", e))?;
        handle(&driver, request, chrono::Utc::now())
            .await
            .map_err(|e| diagnostic(e.error_type(), e))
    }))
    .await
}

fn diagnostic(error_type: &str, error: impl std::fmt::Display) -> Diagnostic {
    tracing::error!(error_type, %error, "request failed");
    Diagnostic {
        error_type: error_type.into(),
        error_message: error.to_string(),
    }
}
