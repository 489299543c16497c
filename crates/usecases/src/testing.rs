//! The one set of in-memory fakes behind the ports, for every unit test of the use cases:
//! healthy by default, failing, hanging or panicking on demand, and keeping what they saw.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use rollout_core::wiring::Trigger;
use rollout_core::{
    AlarmState, AlarmVerdict, AliasState, AliasUpdate, Notification, ProvisionedConcurrency,
    PublishedVersion, Spec, VersionConfig, VersionMetrics,
};
use serde_json::Value;

use crate::announce::Announcer;
use crate::driver::Driver;
use crate::ports::{
    AlarmSource, AliasError, AliasStore, Answered, CallFailed, Channel, Datapoint, DeploymentError,
    Deployments, FailureKind, Invocation, Invoker, JobResults, JobSuccess, MetricsQuery,
    MetricsSink, MetricsSource, PipelineError, Topics, Triggers,
};

pub const RID: &str = "r-20270115T080000000Z";
pub const TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:rollouts";
pub const APPSPEC: &str = "Resources:\n  - fn:\n      Type: AWS::Lambda::Function\n      Properties: {Name: orders, Alias: live, CurrentVersion: 6, TargetVersion: 7}\n";

/// A sample event from `events/`, the same files `cargo lambda invoke` and the integration
/// tests use.
pub fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect(&path)
}

/// A fixed clock, `seconds` after a round start.
pub fn t(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
}

/// `orders:live` from its current version to 2, ten steps, watching `errors`.
pub fn spec() -> Spec {
    Spec::new("orders", "live", "2", "Linear10PercentEvery1Minute").alarms(["errors"])
}

/// What the next call to a fake meets instead of a plain answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Throttling or a 5xx: nothing happened, trying again may work.
    Throttle,
    /// The write went through, but its answer was lost: the SDK's retry with the old
    /// RevisionId then meets `PreconditionFailed`.
    LoseAnswer,
    /// The write went through, but its answer was lost and the retries after it met
    /// throttling: the caller sees throttling.
    LandedThenThrottled,
}

/// The role every fake version runs as, unless a test says otherwise.
pub const ROLE: &str = "arn:aws:iam::000000000000:role/orders";

/// A version just published: `Pending`, as Lambda reports it for a moment.
pub fn pending() -> PublishedVersion {
    PublishedVersion::Present(VersionConfig {
        state: "Pending".into(),
        state_reason_code: "Creating".into(),
        state_reason: "The function is being created.".into(),
        last_update_status: "InProgress".into(),
        ..VersionConfig::active(ROLE)
    })
}

/// What GetProvisionedConcurrencyConfig answers, as recorded from Lambda's API reference:
/// `IN_PROGRESS` while allocating, `READY`, or `FAILED` with its `StatusReason`.
pub fn provisioned(status: &str, reason: &str) -> ProvisionedConcurrency {
    ProvisionedConcurrency {
        status: status.into(),
        status_reason: reason.into(),
        requested: 10,
        allocated: if status == "READY" { 10 } else { 0 },
    }
}

/// One alias, written only with its current RevisionId (`r0`, `r1`, …), like Lambda; its
/// versions `Active` and alike unless scripted otherwise; no provisioned concurrency.
pub struct FakeAliases {
    pub alias: Mutex<AliasState>,
    /// What every version read answers once `script` is used up.
    pub target: PublishedVersion,
    /// Answers for particular versions: the alias's own, `Active` (a test may give it another
    /// role).
    pub by_version: HashMap<String, PublishedVersion>,
    /// Answers to version reads and waits, in turn, before `target`.
    pub script: Mutex<VecDeque<PublishedVersion>>,
    /// Answers to provisioned-concurrency reads, in turn; the last repeats.
    pub provisioned: Mutex<Vec<Option<ProvisionedConcurrency>>>,
    /// The longest wait each `wait_until_active` was given.
    pub waits: Mutex<Vec<Duration>>,
    /// Every call, by operation name.
    pub calls: Mutex<Vec<&'static str>>,
    pub fail_writes: bool,
    /// Faults met by the next writes, in order.
    pub write_faults: Mutex<Vec<Fault>>,
    /// Faults met by the next reads, in order.
    pub read_faults: Mutex<Vec<Fault>>,
    pub writes: Mutex<u32>,
}

fn throttled(operation: &'static str) -> AliasError {
    AliasError::Aws(CallFailed {
        operation,
        message: "TooManyRequestsException: Rate exceeded".into(),
        transient: true,
    })
}

fn next_fault(faults: &Mutex<Vec<Fault>>) -> Option<Fault> {
    let mut faults = faults.lock().unwrap();
    (!faults.is_empty()).then(|| faults.remove(0))
}

impl FakeAliases {
    pub fn on(version: &str) -> FakeAliases {
        FakeAliases {
            alias: Mutex::new(AliasState {
                version: version.into(),
                routing: None,
                revision_id: "r0".into(),
                description: String::new(),
            }),
            target: PublishedVersion::Present(VersionConfig::active(ROLE)),
            // The alias's own version answers for itself, whatever the script says.
            by_version: HashMap::from([(
                version.to_string(),
                PublishedVersion::Present(VersionConfig::active(ROLE)),
            )]),
            script: Mutex::default(),
            provisioned: Mutex::new(vec![None]),
            waits: Mutex::default(),
            calls: Mutex::default(),
            fail_writes: false,
            write_faults: Mutex::default(),
            read_faults: Mutex::default(),
            writes: Mutex::default(),
        }
    }

    pub fn now(&self) -> AliasState {
        self.alias.lock().unwrap().clone()
    }

    pub fn routing_now(&self) -> Option<(String, f64)> {
        self.now().routing
    }

    /// Version reads answer these first, in turn.
    pub fn script_versions(&self, answers: impl IntoIterator<Item = PublishedVersion>) {
        self.script.lock().unwrap().extend(answers);
    }

    /// Provisioned-concurrency reads answer these in turn, the last one from then on.
    pub fn script_provisioned(&self, answers: Vec<Option<ProvisionedConcurrency>>) {
        *self.provisioned.lock().unwrap() = answers;
    }

    pub fn version_reads(&self) -> usize {
        self.called("GetFunctionConfiguration")
    }

    pub fn called(&self, operation: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| **c == operation)
            .count()
    }

    fn call(&self, operation: &'static str) {
        self.calls.lock().unwrap().push(operation);
    }

    fn next_version(&self, version: &str) -> PublishedVersion {
        if let Some(seen) = self.by_version.get(version) {
            return seen.clone();
        }
        self.script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| self.target.clone())
    }
}

#[async_trait]
impl AliasStore for FakeAliases {
    async fn get(&self, _: &str, _: &str) -> Result<AliasState, AliasError> {
        self.call("GetAlias");
        match next_fault(&self.read_faults) {
            Some(_) => Err(throttled("GetAlias")),
            None => Ok(self.now()),
        }
    }

    async fn update(
        &self,
        _: &str,
        _: &str,
        update: &AliasUpdate,
        revision_id: &str,
    ) -> Result<AliasState, AliasError> {
        self.call("UpdateAlias");
        if self.fail_writes {
            return Err(AliasError::Aws(CallFailed {
                operation: "UpdateAlias",
                message: "AccessDeniedException: not allowed".into(),
                transient: false,
            }));
        }
        let fault = next_fault(&self.write_faults);
        if fault == Some(Fault::Throttle) {
            return Err(throttled("UpdateAlias"));
        }
        *self.writes.lock().unwrap() += 1;
        let mut alias = self.alias.lock().unwrap();
        if alias.revision_id != revision_id {
            return Err(AliasError::Conflict);
        }
        let next: u32 = alias
            .revision_id
            .trim_start_matches('r')
            .parse()
            .unwrap_or(0)
            + 1;
        *alias = AliasState {
            version: update.version.clone(),
            routing: update.routing.clone(),
            revision_id: format!("r{next}"),
            description: update.description.clone(),
        };
        match fault {
            Some(Fault::LoseAnswer) => Err(AliasError::Conflict),
            Some(Fault::LandedThenThrottled) => Err(throttled("UpdateAlias")),
            _ => Ok(alias.clone()),
        }
    }

    async fn version(&self, _: &str, version: &str) -> Result<PublishedVersion, AliasError> {
        self.call("GetFunctionConfiguration");
        Ok(self.next_version(version))
    }

    async fn wait_until_active(
        &self,
        _: &str,
        version: &str,
        max_wait: Duration,
    ) -> Result<PublishedVersion, AliasError> {
        self.call("WaitUntilPublishedVersionActive");
        self.waits.lock().unwrap().push(max_wait);
        Ok(self.next_version(version))
    }

    async fn provisioned_concurrency(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<ProvisionedConcurrency>, AliasError> {
        self.call("GetProvisionedConcurrencyConfig");
        let mut script = self.provisioned.lock().unwrap();
        Ok(if script.len() > 1 {
            script.remove(0)
        } else {
            script[0].clone()
        })
    }

    async fn list(&self, _: &str) -> Result<Vec<String>, AliasError> {
        Ok(vec!["live".into()])
    }
}

/// One answer of the alarm source; `Panic` and `Hang` misbehave.
#[derive(Clone)]
pub enum Alarms {
    /// The states of the named alarms, in order; the last repeats for any further names.
    States(Vec<AlarmState>),
    /// DescribeAlarms throttled.
    Throttled,
    Panic,
    Hang,
}

/// Answers from its script in turn, the last one forever; counts its reads.
pub struct FakeAlarms {
    pub script: Mutex<Vec<Alarms>>,
    pub reads: Arc<Mutex<u32>>,
}

impl FakeAlarms {
    pub fn scripted(script: Vec<Alarms>) -> FakeAlarms {
        FakeAlarms {
            script: Mutex::new(script),
            reads: Arc::default(),
        }
    }

    /// Every alarm in `state`, from now on.
    pub fn all(state: AlarmState) -> FakeAlarms {
        FakeAlarms::scripted(vec![Alarms::States(vec![state])])
    }

    pub fn set(&self, state: AlarmState) {
        *self.script.lock().unwrap() = vec![Alarms::States(vec![state])];
    }
}

#[async_trait]
impl AlarmSource for FakeAlarms {
    async fn verdicts(&self, names: &[String]) -> Result<Vec<AlarmVerdict>, CallFailed> {
        *self.reads.lock().unwrap() += 1;
        let next = {
            let mut script = self.script.lock().unwrap();
            if script.len() > 1 {
                script.remove(0)
            } else {
                script[0].clone()
            }
        };
        let states = match next {
            Alarms::States(states) => states,
            Alarms::Throttled => {
                return Err(CallFailed {
                    operation: "DescribeAlarms",
                    message: "Throttling: Rate exceeded".into(),
                    transient: true,
                })
            }
            Alarms::Panic => panic!("alarm source exploded"),
            Alarms::Hang => std::future::pending().await,
        };
        Ok(names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let state = states.get(i).or(states.last()).cloned();
                AlarmVerdict::new(n.clone(), state.unwrap_or(AlarmState::Ok))
            })
            .collect())
    }

    async fn tags(&self, _: &str) -> Result<Vec<(String, String)>, CallFailed> {
        Ok(Vec::new())
    }
}

/// CodePipeline's job results, kept: `Ok(success)` or `Err((kind, message))`.
#[derive(Default)]
pub struct FakeJobResults {
    pub results: Mutex<Vec<Result<JobSuccess, (FailureKind, String)>>>,
}

impl FakeJobResults {
    /// The one result reported since the last call.
    pub fn take(&self) -> Result<JobSuccess, (FailureKind, String)> {
        let mut results = self.results.lock().unwrap();
        assert_eq!(results.len(), 1, "one result per invocation");
        results.remove(0)
    }
}

/// One version's `(invocations, errors, p99 ms)`.
pub type Counts = (u64, u64, Option<f64>);

/// Per-version counts, as CloudWatch would give them, for the target and the current
/// version; `Err` to fail every read. Counts its reads.
pub struct FakeMetrics {
    pub counts: Mutex<Result<[Counts; 2], CallFailed>>,
    pub reads: Arc<Mutex<u32>>,
    pub queries: Mutex<Vec<MetricsQuery>>,
}

impl FakeMetrics {
    pub fn counting(target: Counts, current: Counts) -> Self {
        FakeMetrics {
            counts: Mutex::new(Ok([target, current])),
            reads: Arc::default(),
            queries: Mutex::default(),
        }
    }

    pub fn set(&self, target: Counts, current: Counts) {
        *self.counts.lock().unwrap() = Ok([target, current]);
    }

    pub fn fail(&self, transient: bool) {
        *self.counts.lock().unwrap() = Err(CallFailed {
            operation: "GetMetricData",
            message: "AccessDenied: not allowed".into(),
            transient,
        });
    }
}

#[async_trait]
impl JobResults for FakeJobResults {
    async fn success(&self, _: &str, result: JobSuccess) -> Result<(), PipelineError> {
        self.results.lock().unwrap().push(Ok(result));
        Ok(())
    }

    async fn failure(
        &self,
        _: &str,
        kind: FailureKind,
        message: &str,
    ) -> Result<(), PipelineError> {
        self.results
            .lock()
            .unwrap()
            .push(Err((kind, message.to_string())));
        Ok(())
    }
}

/// The triggers of a function, as given.
#[derive(Default)]
pub struct FakeTriggers(pub Vec<Trigger>);

#[async_trait]
impl Triggers for FakeTriggers {
    async fn triggers(&self, _: &str) -> Result<Vec<Trigger>, AliasError> {
        Ok(self.0.clone())
    }
}

#[async_trait]
impl MetricsSource for FakeMetrics {
    async fn versions(
        &self,
        query: &MetricsQuery,
    ) -> Result<(VersionMetrics, VersionMetrics), CallFailed> {
        *self.reads.lock().unwrap() += 1;
        self.queries.lock().unwrap().push(query.clone());
        let [t, c] = self.counts.lock().unwrap().clone()?;
        let m = |version: &str, (invocations, errors, p99_ms): Counts| VersionMetrics {
            version: version.into(),
            invocations,
            errors,
            p99_ms,
        };
        Ok((m(&query.target, t), m(&query.current, c)))
    }
}

/// Keeps every notification it accepted; refuses all when `refuse` is set.
#[derive(Default)]
pub struct FakeNotifier {
    pub sent: Arc<Mutex<Vec<Notification>>>,
    pub refuse: bool,
    /// The topic does not exist (GetTopicAttributes says NotFound).
    pub no_topic: bool,
}

impl FakeNotifier {
    pub fn events(&self) -> Vec<&'static str> {
        self.sent.lock().unwrap().iter().map(|n| n.event).collect()
    }
}

/// As the SNS channel: publishes what has a topic to go to.
#[async_trait]
impl Channel for FakeNotifier {
    fn failure(&self) -> String {
        "the notification could not be published".into()
    }

    async fn send(&self, notification: &Notification) -> Result<(), CallFailed> {
        if notification.topic_arn.is_none() {
            return Ok(());
        }
        if self.refuse {
            return Err(CallFailed {
                operation: "Publish",
                message: "AuthorizationError: SNS refused".into(),
                transient: false,
            });
        }
        self.sent.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

#[async_trait]
impl Topics for FakeNotifier {
    async fn check_topic(&self, _: &str) -> Result<(), CallFailed> {
        match self.no_topic {
            true => Err(CallFailed {
                operation: "GetTopicAttributes",
                message: "NotFound: Topic does not exist".into(),
                transient: false,
            }),
            false => Ok(()),
        }
    }
}

/// Keeps every datapoint of lambda-rollout's own metrics; refuses all when `refuse` is set.
/// PutMetricData by default; `free` makes it a sink that costs no call (as in Lambda, where
/// the metric is a log line).
#[derive(Default)]
pub struct FakeOwnMetrics {
    pub points: Arc<Mutex<Vec<Datapoint>>>,
    /// How many puts were made (refused ones too).
    pub calls: Arc<Mutex<usize>>,
    pub refuse: bool,
    pub free: bool,
}

impl FakeOwnMetrics {
    /// The values sent so far, in order.
    pub fn values(&self) -> Vec<f64> {
        self.points
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.value)
            .collect()
    }
}

#[async_trait]
impl MetricsSink for FakeOwnMetrics {
    async fn put(&self, points: &[Datapoint]) -> Result<(), CallFailed> {
        *self.calls.lock().unwrap() += 1;
        if self.refuse {
            return Err(CallFailed {
                operation: "PutMetricData",
                message: "AccessDenied: not allowed".into(),
                transient: false,
            });
        }
        self.points.lock().unwrap().extend_from_slice(points);
        Ok(())
    }

    fn costs_a_call(&self) -> bool {
        !self.free
    }
}

/// Keeps every event it accepted; refuses all when `refuse` is set.
#[derive(Default)]
pub struct FakeEvents {
    pub sent: Arc<Mutex<Vec<Notification>>>,
    pub refuse: bool,
}

#[async_trait]
impl Channel for FakeEvents {
    fn failure(&self) -> String {
        "the event could not be sent to EventBridge".into()
    }

    async fn send(&self, notification: &Notification) -> Result<(), CallFailed> {
        if self.refuse {
            return Err(CallFailed {
                operation: "PutEvents",
                message: "AccessDeniedException: not allowed".into(),
                transient: false,
            });
        }
        self.sent.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

/// A deployment whose AppSpec is [`APPSPEC`], answered `Now` unless told otherwise.
#[derive(Default)]
pub struct FakeDeployments {
    pub appspec: Option<Result<String, DeploymentError>>,
    pub answer: Option<Result<Answered, DeploymentError>>,
    pub reports: Arc<Mutex<Vec<bool>>>,
    /// What CodeDeploy says an earlier attempt answered (default: it does not say).
    pub earlier: Option<Result<Option<bool>, DeploymentError>>,
}

#[async_trait]
impl Deployments for FakeDeployments {
    async fn appspec(&self, _: &str) -> Result<String, DeploymentError> {
        self.appspec.clone().unwrap_or(Ok(APPSPEC.into()))
    }

    async fn report(&self, _: &str, _: &str, succeeded: bool) -> Result<Answered, DeploymentError> {
        self.reports.lock().unwrap().push(succeeded);
        self.answer.clone().unwrap_or(Ok(Answered::Now))
    }

    async fn earlier_answer(&self, _: &str, _: &str) -> Result<Option<bool>, DeploymentError> {
        self.earlier.clone().unwrap_or(Ok(None))
    }
}

/// Answers every invocation of version 7 with `payload`.
pub struct FakeInvoker(pub Vec<u8>);

#[async_trait]
impl Invoker for FakeInvoker {
    async fn invoke(&self, _: &str, qualifier: &str, _: &Value) -> Result<Invocation, CallFailed> {
        assert_eq!(qualifier, "7", "the smoke test targets the target version");
        Ok(Invocation {
            function_error: None,
            payload: self.0.clone(),
        })
    }
}

/// The fakes a driver runs on: `orders:live` on version 1, alarms OK, SNS up.
pub struct World {
    pub aliases: FakeAliases,
    pub alarms: FakeAlarms,
    pub metrics: FakeMetrics,
    pub notifier: FakeNotifier,
    pub events: FakeEvents,
    pub own_metrics: FakeOwnMetrics,
}

impl World {
    pub fn new() -> World {
        World {
            aliases: FakeAliases::on("1"),
            alarms: FakeAlarms::all(AlarmState::Ok),
            metrics: FakeMetrics::counting((0, 0, None), (0, 0, None)),
            notifier: FakeNotifier::default(),
            events: FakeEvents::default(),
            own_metrics: FakeOwnMetrics::default(),
        }
    }

    pub fn driver(&self) -> Driver<'_> {
        Driver {
            aliases: &self.aliases,
            alarms: &self.alarms,
            metrics: &self.metrics,
            topics: &self.notifier,
            announcer: Announcer::new(
                vec![&self.notifier, &self.events],
                crate::patience::Patience::default(),
            ),
            own_metrics: &self.own_metrics,
            source: "test",
            extra_alarms: &[],
            default_topic: Some(TOPIC),
            patience: crate::patience::Patience::default(),
            rolling_back: Default::default(),
            owed_weights: Default::default(),
        }
    }
}

impl Default for World {
    fn default() -> World {
        World::new()
    }
}

/// Test settings from `vars`, with a fast poll and a short margin.
pub fn hook_settings(
    vars: &[(&str, &str)],
) -> Result<crate::hooks::HookSettings, rollout_core::InvalidField> {
    let mut settings = crate::hooks::HookSettings::from_lookup(&|name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })?;
    settings.poll = Duration::from_millis(20);
    settings.margin = Duration::from_millis(200);
    Ok(settings)
}

/// A notification with this `eventId`, for tests of how events go out.
pub fn note(event_id: &str) -> Notification {
    let mut n = Notification::new(
        rollout_core::EventKind::Started,
        "r-20261123T130000000Z",
        "orders",
        "live",
        ("1", "2"),
        0.1,
        "InProgress",
        None,
        Vec::new(),
        t(0),
        "test",
    );
    n.event_id = event_id.into();
    n
}

/// A world of one place: every member (every alias) is in the caller's own, on its fakes.
#[async_trait]
impl crate::ports::Places for World {
    fn home_region(&self) -> Option<String> {
        Some("us-east-1".into())
    }

    async fn place(
        &self,
        _: &rollout_core::set::MemberSpec,
    ) -> Result<crate::ports::Place<'_>, CallFailed> {
        Ok(crate::ports::Place {
            aliases: &self.aliases,
            alarms: &self.alarms,
            metrics: &self.metrics,
        })
    }
}

/// A release set's world: one fake alias per member function (each on version "1"), the
/// alarms, metrics and channels of `world` shared by all (the caller's own place); members
/// whose function is in `unreachable` are in a place whose role cannot be assumed.
pub struct SetWorld {
    pub world: World,
    pub members: Vec<(String, FakeAliases)>,
    pub unreachable: Vec<String>,
}

impl SetWorld {
    pub fn new(functions: &[&str]) -> SetWorld {
        SetWorld {
            world: World::new(),
            members: functions
                .iter()
                .map(|f| (f.to_string(), FakeAliases::on("1")))
                .collect(),
            unreachable: Vec::new(),
        }
    }

    /// The alias of `function`.
    pub fn alias(&self, function: &str) -> &FakeAliases {
        &self
            .members
            .iter()
            .find(|(f, _)| f == function)
            .unwrap_or_else(|| panic!("no member {function}"))
            .1
    }

    /// Every member's alias as it stands: (version, routing).
    pub fn standing(&self) -> Vec<(String, Option<(String, f64)>)> {
        self.members
            .iter()
            .map(|(_, a)| {
                let alias = a.alias.lock().unwrap();
                (alias.version.clone(), alias.routing.clone())
            })
            .collect()
    }
}

#[async_trait]
impl crate::ports::Places for SetWorld {
    fn home_region(&self) -> Option<String> {
        Some("us-east-1".into())
    }

    async fn place(
        &self,
        member: &rollout_core::set::MemberSpec,
    ) -> Result<crate::ports::Place<'_>, CallFailed> {
        let name = rollout_core::validate::short_function_name(&member.function_name);
        if self.unreachable.iter().any(|f| f == name) {
            return Err(CallFailed {
                operation: "AssumeRole",
                message: "AccessDenied: not authorized to perform sts:AssumeRole".into(),
                transient: false,
            });
        }
        Ok(crate::ports::Place {
            aliases: self.alias(name),
            alarms: &self.world.alarms,
            metrics: &self.world.metrics,
        })
    }
}
