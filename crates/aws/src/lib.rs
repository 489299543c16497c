//! The AWS adapters: one SDK-backed implementation of each port of `rollout-usecases`. They
//! translate between the SDK and the domain's plain values, and decide nothing. Functions and
//! the CLI build them once (`Adapters::new`, [`hook`]) and hand them to the use cases.

pub mod alarms;
pub mod aliases;
pub mod cause;
pub mod channels;
pub mod chatbot;
pub mod codedeploy;
pub mod codepipeline;
pub mod dashboards;
pub mod emf;
mod endpoint;
pub mod events;
pub mod invoke;
pub mod metrics;
pub mod places;
pub mod sns;
pub mod triggers;
pub mod webhook;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use rollout_core::InvalidField;
use rollout_usecases::announce::Announcer;
use rollout_usecases::driver::Driver;
use rollout_usecases::hooks::{Hook, HookKind, HookSettings};
use rollout_usecases::patience::Patience;
use rollout_usecases::ports::{CallFailed, Channel};
use rollout_usecases::settings::ChannelSettings;

pub use cause::{cause_of, Cause};

/// What the command line adds to the environment's own AWS settings: `--region` and
/// `--profile`, like the AWS CLI. Empty for the functions (Lambda sets `AWS_REGION`).
#[derive(Debug, Clone, Default)]
pub struct AwsTarget {
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// Loads the SDK configuration once per process from the environment alone (the functions).
pub async fn load_config() -> SdkConfig {
    loader(&AwsTarget::default()).await
}

/// Loads the SDK configuration with the command line's region and profile, which win over
/// `AWS_REGION` / `AWS_PROFILE`; fails before any call when no region is configured at all.
pub async fn load_config_for(target: &AwsTarget) -> Result<SdkConfig, Cause> {
    let config = loader(target).await;
    match config.region() {
        Some(_) => Ok(config),
        None => Err(Cause::NoRegion {
            profile: target
                .profile
                .clone()
                .or_else(|| std::env::var("AWS_PROFILE").ok()),
        }),
    }
}

/// The one way configuration is built: the SDK's own endpoint variables (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_<SERVICE>`) apply; retries are the SDK's standard ones (throttling and
/// 5xx), bounded; every call has a deadline; a failed connection names its endpoint.
async fn loader(target: &AwsTarget) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(region) = &target.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    let config = match &target.profile {
        Some(profile) => with_profile_credentials(loader.load().await, profile),
        None => loader.load().await,
    };
    tracing::debug!(
        region = ?config.region(),
        endpoint = ?config.endpoint_url(),
        profile = ?target.profile,
        "AWS configuration loaded"
    );
    match endpoint::NamingEndpoints::around(&config) {
        Some(client) => config.into_builder().http_client(client).build(),
        None => config,
    }
}

/// A profile named on the command line gives the credentials, as with the AWS CLI: the
/// SDK's default chain tries AWS_ACCESS_KEY_ID first even when a profile is named, so
/// `--profile prod` would otherwise run with whatever keys the shell exported (another
/// account's, perhaps) and a misspelled profile would go unnoticed.
fn with_profile_credentials(config: SdkConfig, profile: &str) -> SdkConfig {
    let conf = aws_config::provider_config::ProviderConfig::without_region()
        .with_region(config.region().cloned())
        .with_behavior_version(Some(BehaviorVersion::latest()));
    let provider = aws_config::profile::ProfileFileCredentialsProvider::builder()
        .configure(&conf)
        .profile_name(profile)
        .build();
    config
        .into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

/// The SDK error's code and message (or what kind of failure it was), for errors we report
/// rather than match: a setup cause with its fix when it is one, never the raw HTTP response,
/// which would reach people and logs.
pub fn describe_sdk_error<E, R>(err: &aws_sdk_lambda::error::SdkError<E, R>) -> String
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
    if let Some(cause) = cause_of(err) {
        return cause.to_string();
    }
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

/// Error codes that mean "slow down" or "try again" on any AWS API.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "PriorRequestNotComplete",
    "ProvisionedThroughputExceededException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServiceError",
    "ServiceException",
    "ResourceConflictException",
];

/// True when trying the call again may succeed: throttling, a 5xx, a call that could not be
/// sent or timed out, an answer that could not be read (it may have been cut off). Not a
/// missing region or missing credentials: waiting does not configure them.
pub fn is_transient<E>(err: &aws_sdk_lambda::error::SdkError<E, HttpResponse>) -> bool
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
    match err {
        SdkError::DispatchFailure(_) => !matches!(
            cause_of(err),
            Some(Cause::NoRegion { .. } | Cause::NoCredentials { .. })
        ),
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            status == 429
                || status >= 500
                || err
                    .code()
                    .is_some_and(|code| TRANSIENT_CODES.contains(&code))
        }
        _ => false,
    }
}

/// What the use cases are told of a failed call: its operation, code and message, and
/// whether it may pass.
pub fn call_failed<E>(
    operation: &'static str,
    err: &aws_sdk_lambda::error::SdkError<E, HttpResponse>,
) -> CallFailed
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    CallFailed {
        operation,
        message: describe_sdk_error(err),
        transient: is_transient(err),
    }
}

/// The SDK clients the adapters share, each built once per process: a clone shares the
/// client's configuration and connections, so it costs nothing; building one does not.
struct Clients {
    lambda: aws_sdk_lambda::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Clients {
    fn new(sdk: &SdkConfig) -> Self {
        Clients {
            lambda: aws_sdk_lambda::Client::new(sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
        }
    }

    fn aliases(&self) -> aliases::LambdaAliases {
        aliases::LambdaAliases::new(self.lambda.clone())
    }

    fn alarms(&self) -> alarms::CloudWatchAlarms {
        alarms::CloudWatchAlarms::new(self.cloudwatch.clone())
    }

    fn metrics(&self) -> metrics::CloudWatchMetrics {
        metrics::CloudWatchMetrics::new(self.cloudwatch.clone())
    }
}

/// The SDK-backed adapters a driver needs, and what the CLI reads besides (`rollout check`'s
/// trigger listing, the alarms, series and dashboards of `report` and `dashboard`), built once
/// from one configuration.
pub struct Adapters {
    pub aliases: aliases::LambdaAliases,
    /// Also the [`AlarmCatalog`](rollout_usecases::ports::AlarmCatalog) and
    /// [`AlarmHistory`](rollout_usecases::ports::AlarmHistory) the CLI reads.
    pub alarms: alarms::CloudWatchAlarms,
    /// Also the [`Timelines`](rollout_usecases::ports::Timelines) of the report.
    pub metrics: metrics::CloudWatchMetrics,
    /// Where `rollout dashboard` writes (a clone of the CloudWatch client: free to carry).
    pub dashboards: dashboards::CloudWatchDashboards,
    /// The SNS topics rollouts name, checked before a start.
    pub notifier: sns::SnsNotifier,
    /// Every channel events go to (see [`channels::channels`]).
    pub channels: Vec<Box<dyn Channel>>,
    pub triggers: triggers::LambdaTriggers,
}

impl Adapters {
    /// The adapters, with events going to SNS and the bus `EVENT_BUS_NAME` names (read once,
    /// here); see [`Adapters::with_channels`] for every channel.
    pub fn new(config: &SdkConfig) -> Self {
        let settings = ChannelSettings {
            event_bus: rollout_usecases::settings::event_bus(),
            ..ChannelSettings::default()
        };
        Adapters::with_channels(config, &settings)
    }

    /// The adapters, with events going to SNS and every channel `settings` configures.
    pub fn with_channels(config: &SdkConfig, settings: &ChannelSettings) -> Self {
        let clients = Clients::new(config);
        Adapters {
            aliases: clients.aliases(),
            alarms: clients.alarms(),
            metrics: clients.metrics(),
            dashboards: dashboards::CloudWatchDashboards::new(clients.cloudwatch.clone()),
            notifier: sns::SnsNotifier::new(aws_sdk_sns::Client::new(config)),
            channels: channels::channels(config, settings, true),
            triggers: triggers::LambdaTriggers::new(clients.lambda),
        }
    }

    /// Every channel, for an announcer.
    pub fn announcer(&self) -> Announcer<'_> {
        Announcer::new(
            self.channels.iter().map(|c| c.as_ref()).collect(),
            Patience::default(),
        )
    }

    /// A driver over these adapters; see [`Driver`] for the other fields. Its own metrics go
    /// out with PutMetricData, an AWS call; a function replaces them with
    /// [`emf::EmbeddedMetrics`], which costs none.
    pub fn driver<'a>(
        &'a self,
        source: &'a str,
        extra_alarms: &'a [String],
        default_topic: Option<&'a str>,
    ) -> Driver<'a> {
        Driver {
            aliases: &self.aliases,
            alarms: &self.alarms,
            metrics: &self.metrics,
            topics: &self.notifier,
            announcer: self.announcer(),
            own_metrics: &self.metrics,
            source,
            extra_alarms,
            default_topic,
            patience: Patience::default(),
            rolling_back: Default::default(),
            owed_weights: Default::default(),
        }
    }
}

/// A CodeDeploy traffic hook over SDK-backed adapters; its channels from the environment (a
/// bad one makes the configuration bad: every hook then answers `Failed`, saying why).
pub fn hook(kind: HookKind, sdk: &SdkConfig, settings: Result<HookSettings, InvalidField>) -> Hook {
    let channel_settings = ChannelSettings::from_env();
    let settings = match (settings, &channel_settings) {
        (Ok(_), Err(e)) => Err(e.clone()),
        (settings, _) => settings,
    };
    let channel_settings = channel_settings.unwrap_or_default();
    let has_topic = settings.as_ref().is_ok_and(|s| s.topic_arn.is_some());
    if let Err(e) = &settings {
        tracing::error!(error = %e, "invalid configuration; every hook will answer Failed");
    }
    // The clients `Adapters` builds; not its topic checker (SNS), which a hook never uses.
    let clients = Clients::new(sdk);
    Hook {
        kind,
        settings,
        deployments: Box::new(codedeploy::CodeDeployments::new(
            aws_sdk_codedeploy::Client::new(sdk),
        )),
        aliases: Box::new(clients.aliases()),
        alarms: Box::new(clients.alarms()),
        metrics: Box::new(clients.metrics()),
        invoker: Box::new(invoke::LambdaInvoker::new(sdk)),
        channels: channels::channels(sdk, &channel_settings, has_topic),
    }
}
