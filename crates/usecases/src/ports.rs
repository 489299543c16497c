//! The ports: what the use cases need of the world, each a small trait with one SDK-backed
//! implementation in `rollout-aws` and one in-memory fake in `testing`. Their errors say
//! what a use case can act on (a conflict, a missing alias) and carry the rest as text.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rollout_core::wiring::Trigger;
use rollout_core::{
    AlarmVerdict, AliasState, AliasUpdate, InvalidField, Notification, ProvisionedConcurrency,
    PublishedVersion, VersionMetrics,
};
use serde_json::Value;

/// An AWS call that failed, and whether it may pass if tried again (throttling, a 5xx, a
/// dropped connection, a timeout) or will not (access denied, a bad request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct CallFailed {
    pub operation: &'static str,
    pub message: String,
    pub transient: bool,
}

// --- The traffic router: Lambda aliases -------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum AliasError {
    /// The alias does not exist (`function_missing`: nor does the function).
    #[error("alias {alias} of {function} not found")]
    NotFound {
        function: String,
        alias: String,
        function_missing: bool,
    },
    /// The RevisionId no longer matches: someone else changed the alias.
    #[error("the alias changed since it was read (RevisionId mismatch)")]
    Conflict,
    /// Refused before calling AWS: the routing would be invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// Any other failure; `transient` when trying again may succeed.
    #[error("Lambda {0}")]
    Aws(CallFailed),
}

impl AliasError {
    /// Throttling, a 5xx, a dropped connection or a timeout: worth trying again.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AliasError::Aws(CallFailed {
                transient: true,
                ..
            })
        )
    }
}

/// Reads and conditionally writes aliases; reads what Lambda says of their versions.
#[async_trait]
pub trait AliasStore: Send + Sync {
    async fn get(&self, function: &str, alias: &str) -> Result<AliasState, AliasError>;
    /// Writes `update` only if the alias's RevisionId is still `revision_id`; returns the
    /// alias as written (with its new RevisionId).
    async fn update(
        &self,
        function: &str,
        alias: &str,
        update: &AliasUpdate,
        revision_id: &str,
    ) -> Result<AliasState, AliasError>;
    /// What Lambda says of a published version: its state, role and dead-letter target.
    async fn version(&self, function: &str, version: &str) -> Result<PublishedVersion, AliasError>;
    /// Waits, up to `max_wait`, for a `Pending` version to be `Active` (or `Failed`), and
    /// returns what was seen last; the SDK's own waiter and its backoff.
    async fn wait_until_active(
        &self,
        function: &str,
        version: &str,
        max_wait: Duration,
    ) -> Result<PublishedVersion, AliasError>;
    /// The alias's provisioned concurrency; `None` when it has none.
    async fn provisioned_concurrency(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<ProvisionedConcurrency>, AliasError>;
    /// The names of the function's aliases.
    async fn list(&self, function: &str) -> Result<Vec<String>, AliasError>;
}

/// What invokes a function: its event source mappings, function URLs and resource-policy
/// permissions, each with the qualifier it is bound to (`rollout check` reads them).
#[async_trait]
pub trait Triggers: Send + Sync {
    async fn triggers(&self, function: &str) -> Result<Vec<Trigger>, AliasError>;
}

// --- The analysis provider: per-version metrics ------------------------------------------

/// What a judgement reads: calls through `function:alias`, per executed version, in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsQuery {
    /// The plain function name (Lambda's `FunctionName` dimension).
    pub function: String,
    pub alias: String,
    pub target: String,
    pub current: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[async_trait]
pub trait MetricsSource: Send + Sync {
    /// The target's and the current version's counts and p99, in one read.
    async fn versions(
        &self,
        query: &MetricsQuery,
    ) -> Result<(VersionMetrics, VersionMetrics), CallFailed>;
}

// --- The analysis provider: CloudWatch alarms ---------------------------------------------

#[async_trait]
pub trait AlarmSource: Send + Sync {
    /// One verdict per name, in the order given (a name not found is `Missing`); an error
    /// when they could not be read at all.
    async fn verdicts(&self, names: &[String]) -> Result<Vec<AlarmVerdict>, CallFailed>;
    /// The alarm's tags, e.g. `lambda-rollout:guards`.
    async fn tags(&self, alarm_arn: &str) -> Result<Vec<(String, String)>, CallFailed>;
}

// --- The notifier ------------------------------------------------------------------------

/// The SNS topics a rollout names: checked before a rollout counts on one.
#[async_trait]
pub trait Topics: Send + Sync {
    /// Checks that the topic exists and can be reached from here (same region, allowed).
    async fn check_topic(&self, topic_arn: &str) -> Result<(), CallFailed>;
}

// --- Channels: where every event is told -------------------------------------------------

/// One way events reach people and systems: an SNS topic, an EventBridge bus, AWS Chatbot, a
/// webhook. Which are configured is decided in one place (`rollout_aws::channels`); drivers
/// and hooks announce through [`crate::announce::Announcer`] and never name one.
#[async_trait]
pub trait Channel: Send + Sync {
    /// How a failure on this channel is told in a warning, without secrets: `the
    /// notification could not be published`, `the event could not be sent to EventBridge`.
    fn failure(&self) -> String;
    /// How long one event may take on this channel, its tries included; `None`: as long as
    /// the announcer's read bound (AWS's own APIs). A channel outside AWS, which may hang or
    /// fail for hours, says less: every step waits for its announcement, so a dead webhook
    /// must not hold up the next check (and a breach) for long.
    fn bound(&self) -> Option<std::time::Duration> {
        None
    }
    /// True for a channel outside AWS (a webhook): its failure is noted for people, never a
    /// reason for a driver to fail its step (the state machine would retry and then abort a
    /// healthy rollout because a chat endpoint is down).
    fn best_effort(&self) -> bool {
        false
    }
    /// Sends one event. A channel with nowhere to send this one (SNS, when the rollout names
    /// no topic) does nothing. A failure says whether trying again may work.
    async fn send(&self, notification: &Notification) -> Result<(), CallFailed>;
}

// --- lambda-rollout's own signals: its metrics and its events ----------------------------

/// lambda-rollout's own metrics, in namespace `LambdaRollout` with dimensions `FunctionName`
/// (the plain name) and `Alias`: what dashboards and alarms read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnMetric {
    /// Percent (0–100) of the alias's traffic on the rollout's target version.
    TrafficWeight,
    /// 1 when the scheduled judge failed the alias's additional version, 0 otherwise.
    CanaryVerdict,
}

/// One value of one of lambda-rollout's own metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Datapoint {
    pub metric: OwnMetric,
    /// The plain function name.
    pub function: String,
    pub alias: String,
    pub value: f64,
    pub at: DateTime<Utc>,
}

impl OwnMetric {
    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            OwnMetric::TrafficWeight => rollout_core::dashboard::TRAFFIC_WEIGHT,
            OwnMetric::CanaryVerdict => rollout_core::dashboard::CANARY_VERDICT,
        }
    }

    /// Its CloudWatch unit, as both PutMetricData and the embedded metric format spell it.
    pub fn unit(self) -> &'static str {
        match self {
            OwnMetric::TrafficWeight => "Percent",
            OwnMetric::CanaryVerdict => "None",
        }
    }
}

#[async_trait]
pub trait MetricsSink: Send + Sync {
    /// Sends every point in one call.
    async fn put(&self, points: &[Datapoint]) -> Result<(), CallFailed>;
    /// Whether a `put` is an AWS call (PutMetricData) that counts against a step's budget,
    /// or free (inside Lambda, a log line CloudWatch turns into the metric): a free sink gets
    /// each weight the moment it is applied; a costly one only on steps with a call to spare.
    fn costs_a_call(&self) -> bool;
}

// --- CodePipeline job results --------------------------------------------------------------

/// The failure types this action reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The action is set up wrongly (bad UserParameters): fix the pipeline, not the code.
    ConfigurationError,
    /// The rollout did not succeed (rolled back, refused, aborted, bad token).
    JobFailed,
}

/// A success result.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSuccess {
    pub continuation_token: Option<String>,
    pub summary: String,
    pub percent_complete: i32,
    pub external_execution_id: String,
    pub output_variables: Vec<(String, String)>,
}

/// A CodePipeline job-result call that failed: the one failure shape of an AWS call.
pub type PipelineError = CallFailed;

#[async_trait]
pub trait JobResults: Send + Sync {
    async fn success(&self, job_id: &str, result: JobSuccess) -> Result<(), PipelineError>;
    async fn failure(
        &self,
        job_id: &str,
        kind: FailureKind,
        message: &str,
    ) -> Result<(), PipelineError>;
}

// --- CodeDeploy, as a traffic hook sees it ----------------------------------------------

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeploymentError {
    /// The deployment carries no AppSpec text (e.g. an S3 revision, which Lambda never uses).
    #[error("deployment {deployment_id} has no AppSpec content (revision type {revision_type})")]
    NoAppSpec {
        deployment_id: String,
        revision_type: String,
    },
    #[error("CodeDeploy {0}")]
    Aws(CallFailed),
}

/// How CodeDeploy took the hook's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// This call gave the answer.
    Now,
    /// CodeDeploy already had one (an earlier attempt of this invocation, or a timeout).
    Already,
}

#[async_trait]
pub trait Deployments: Send + Sync {
    /// The AppSpec (YAML or JSON text) of the deployment's revision.
    async fn appspec(&self, deployment_id: &str) -> Result<String, DeploymentError>;
    /// Answers the lifecycle hook `Succeeded` or `Failed`.
    async fn report(
        &self,
        deployment_id: &str,
        hook_execution_id: &str,
        succeeded: bool,
    ) -> Result<Answered, DeploymentError>;
    /// How CodeDeploy recorded `lifecycle_event` (`BeforeAllowTraffic`, `AfterAllowTraffic`)
    /// of the deployment once an earlier attempt answered it: `Some(true)` Succeeded,
    /// `Some(false)` Failed, `None` when it does not say (still pending, or not found).
    async fn earlier_answer(
        &self,
        deployment_id: &str,
        lifecycle_event: &str,
    ) -> Result<Option<bool>, DeploymentError>;
}

// --- Invoking a version (the smoke test) -------------------------------------------------

/// What one invocation came back with.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// Lambda's `FunctionError` (`Unhandled`, …) when the function failed.
    pub function_error: Option<String>,
    pub payload: Vec<u8>,
}

#[async_trait]
pub trait Invoker: Send + Sync {
    /// Invokes `function` at `qualifier` (a version) with `payload`, synchronously.
    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &Value,
    ) -> Result<Invocation, CallFailed>;
}

// --- What the CLI reads for people: alarms by alias, their history, series, dashboards ---

use rollout_core::report::{AlarmChange, Point, VersionSeries};

/// Which alarms watch an alias, and the ARNs of alarms named by hand: what `rollout
/// dashboard`, `report` and `status --watch` show besides the alarms a rollout names.
#[async_trait]
pub trait AlarmCatalog: Send + Sync {
    /// Every metric alarm whose dimensions name `function:alias` (see
    /// [`rollout_core::alarms::watches_alias`]): `(name, arn)`.
    async fn watching(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Vec<(String, String)>, CallFailed>;
    /// The ARN of each named alarm (metric or composite), `None` for one that does not exist.
    async fn arns(&self, names: &[String]) -> Result<Vec<(String, Option<String>)>, CallFailed>;
}

/// What alarms did over a window, for the report.
#[async_trait]
pub trait AlarmHistory: Send + Sync {
    /// The state changes of the named alarms between `start` and `end`, oldest first.
    async fn state_changes(
        &self,
        names: &[String],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<AlarmChange>, CallFailed>;
}

/// What the report draws, over a window: the weight and verdict every driver publishes
/// (`LambdaRollout`) and each version's calls, errors and p99 (`AWS/Lambda`, per minute).
pub struct Timeline {
    pub weight: Vec<Point>,
    pub verdict: Vec<Point>,
    pub versions: Vec<VersionSeries>,
}

/// The series of a rollout's timeline, for the report.
#[async_trait]
pub trait Timelines: Send + Sync {
    /// The series for `function:alias` (the plain function name) and `versions` between
    /// `start` and `end`, each sorted by time.
    async fn timeline(
        &self,
        function: &str,
        alias: &str,
        versions: &[String],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Timeline, CallFailed>;
}

/// Where `rollout dashboard` writes the dashboard body `rollout_core::dashboard` builds.
#[async_trait]
pub trait Dashboards: Send + Sync {
    /// Creates or replaces the dashboard; returns what the store found wrong with the body
    /// (`dataPath: message`), empty when nothing.
    async fn put(&self, name: &str, body: &str) -> Result<Vec<String>, CallFailed>;
}

// --- Where a release set's members are: their region and account -----------------------

/// The adapters one set member's Lambda and CloudWatch calls go through.
#[derive(Clone, Copy)]
pub struct Place<'a> {
    pub aliases: &'a dyn AliasStore,
    pub alarms: &'a dyn AlarmSource,
    pub metrics: &'a dyn MetricsSource,
}

/// Finds each set member's place: the caller's own adapters, or those of another region or
/// account (its `roleArn` assumed, the credentials cached and refreshed), built once per
/// region and role and kept.
#[async_trait]
pub trait Places: Send + Sync {
    /// `member`'s adapters; an error when its role cannot be assumed.
    async fn place(&self, member: &rollout_core::set::MemberSpec) -> Result<Place<'_>, CallFailed>;
    /// The caller's own region, where a member that names none is.
    fn home_region(&self) -> Option<String>;
}
