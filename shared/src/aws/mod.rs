//! The AWS adapters: each a small trait the driver needs, with one SDK-backed implementation.
//! They translate between the SDK and the domain's plain values, and decide nothing.

pub mod alarms;
pub mod alias;
pub mod deploy;
pub mod invoke;
pub mod notify;
pub mod pipeline;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration once per process: the SDK's own endpoint variables
/// (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`) apply; retries are the SDK's standard
/// ones (throttling and 5xx), bounded, and every call has a deadline.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        )
        .load()
        .await
}

/// The SDK error's code and message (or what kind of failure it was), for errors we report
/// rather than match: never the raw HTTP response, which would reach people and logs.
pub(crate) fn describe_sdk_error<E, R>(err: &aws_sdk_lambda::error::SdkError<E, R>) -> String
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => match err {
            SdkError::TimeoutError(_) => "the request timed out".into(),
            SdkError::DispatchFailure(e) if e.is_io() || e.is_timeout() => {
                "could not reach the service (connection failed)".into()
            }
            SdkError::DispatchFailure(_) => "the request could not be sent".into(),
            SdkError::ConstructionFailure(_) => "the request could not be built".into(),
            SdkError::ResponseError(_) => "the service's answer could not be read".into(),
            _ => "the service refused the request without saying why".into(),
        },
    }
}

/// The three SDK-backed adapters a driver needs, built once from one configuration.
pub struct Adapters {
    pub aliases: alias::LambdaAliases,
    pub alarms: alarms::CloudWatchAlarms,
    pub notifier: notify::SnsNotifier,
}

impl Adapters {
    pub fn new(config: &SdkConfig) -> Self {
        Adapters {
            aliases: alias::LambdaAliases::new(aws_sdk_lambda::Client::new(config)),
            alarms: alarms::CloudWatchAlarms::new(aws_sdk_cloudwatch::Client::new(config)),
            notifier: notify::SnsNotifier::new(aws_sdk_sns::Client::new(config)),
        }
    }

    pub fn driver<'a>(
        &'a self,
        source: &'a str,
        extra_alarms: &'a [String],
        default_topic: Option<&'a str>,
    ) -> crate::driver::Driver<'a> {
        crate::driver::Driver {
            aliases: &self.aliases,
            alarms: &self.alarms,
            notifier: &self.notifier,
            source,
            extra_alarms,
            default_topic,
        }
    }
}
