//! canary-judge: once a minute (an EventBridge schedule), judges each guarded alias that
//! CodeDeploy has split and publishes `LambdaRollout/CanaryVerdict` for an alarm to gate the
//! deployment on. `JUDGED_ALIASES`, `ANALYSIS` and `WINDOW` are read once: a bad value fails
//! the cold start.

use canary_judge::judge_now;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use rollout_aws::{aliases::LambdaAliases, load_config, metrics::CloudWatchMetrics};
use rollout_usecases::canary_judge::{Judge, JudgeSettings};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // The error as people read it: `JUDGED_ALIASES: must name …`.
    let settings = JudgeSettings::from_env().map_err(|e| e.to_string())?;
    // Only the two clients it uses: no SNS, EventBridge or trigger clients at cold start.
    let sdk = load_config().await;
    let (aliases, metrics) = (
        LambdaAliases::from_config(&sdk),
        CloudWatchMetrics::from_config(&sdk),
    );
    let judge = Judge {
        aliases: &aliases,
        metrics: &metrics,
        own_metrics: &metrics,
    };
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        judge_now(&judge, &settings, chrono::Utc::now())
    }))
    .await
}
