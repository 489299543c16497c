//! alarm-rollback: on a CloudWatch alarm going to ALARM, puts every alias it guards that is
//! mid-rollout back on its current version (and every member of a release set one is in),
//! then notifies. Rollback first, always.

use alarm_rollback::roll_back_on_alarm;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use rollout_aws::{emf::EmbeddedMetrics, load_config, places::AwsPlaces, Adapters};
use rollout_usecases::alarm_rollback::AlarmRollbackSettings;
use rollout_usecases::driver::Driver;
use rollout_usecases::settings::ChannelSettings;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = AlarmRollbackSettings::from_env()?;
    let channels = ChannelSettings::from_env()?;
    let config = load_config().await;
    let adapters = Adapters::with_channels(&config, &channels);
    // Set members in other regions or accounts: their clients built when first met.
    let places = AwsPlaces::new(&adapters, &config);
    // TrafficWeight as log lines (EMF): no AWS call after the rollback's notification.
    let emf = EmbeddedMetrics::stdout();
    let driver = Driver {
        own_metrics: &emf,
        ..adapters.driver("alarm-rollback", &[], settings.topic_arn.as_deref())
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        roll_back_on_alarm(
            &driver,
            &adapters.aliases,
            &adapters.alarms,
            &places,
            &settings,
            event,
            chrono::Utc::now(),
        )
    }))
    .await
}
