//! traffic-shifter: one rollout step per invocation (a spec starts, a state steps, an abort
//! puts the alias back, a CodePipeline job does either and reports to the pipeline).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use rollout_aws::places::AwsPlaces;
use rollout_aws::{codepipeline::CodePipelineResults, emf::EmbeddedMetrics, load_config, Adapters};
use rollout_usecases::driver::Driver;
use rollout_usecases::settings::ChannelSettings;
use rollout_usecases::shifter::ShifterSettings;
use serde_json::Value;
use traffic_shifter::dispatch;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = ShifterSettings::from_env()?;
    let sdk = load_config().await;
    let channels = ChannelSettings::from_env()?;
    let adapters = Adapters::with_channels(&sdk, &channels);
    let results = CodePipelineResults::from_config(&sdk);
    // TrafficWeight as log lines (EMF): no AWS call, so every step publishes its weight.
    let emf = EmbeddedMetrics::stdout();
    let driver = Driver {
        own_metrics: &emf,
        ..adapters.driver(
            "traffic-shifter",
            &settings.alarm_names,
            settings.topic_arn.as_deref(),
        )
    };
    let places = AwsPlaces::new(&adapters, &sdk);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        dispatch(&driver, &places, &results, event, chrono::Utc::now())
    }))
    .await
}
