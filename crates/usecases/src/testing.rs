//! The one set of in-memory fakes behind the ports, for every unit test of the use cases:
//! healthy by default, failing, hanging or panicking on demand, and keeping what they saw.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use rollout_core::{
    AlarmState, AlarmVerdict, AliasState, AliasUpdate, Notification, Spec, TargetVersion,
    VersionMetrics,
};
use serde_json::Value;

use crate::driver::Driver;
use crate::ports::{
    AlarmSource, AliasError, AliasStore, Answered, CallFailed, DeploymentError, Deployments,
    Invocation, Invoker, MetricsQuery, MetricsSource, Notifier,
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
    Spec {
        function_name: "orders".into(),
        alias: "live".into(),
        target_version: "2".into(),
        current_version: None,
        strategy: "Linear10PercentEvery1Minute".into(),
        alarms: vec!["errors".into()],
        notification_topic_arn: None,
        bake_time: None,
        analysis: None,
    }
}

/// What the next call to a fake meets instead of a plain answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Throttling or a 5xx: nothing happened, trying again may work.
    Throttle,
    /// The write went through, but its answer was lost: the SDK's retry with the old
    /// RevisionId then meets `PreconditionFailed`.
    LoseAnswer,
}

/// One alias, written only with its current RevisionId (`r0`, `r1`, …), like Lambda.
pub struct FakeAliases {
    pub alias: Mutex<AliasState>,
    pub target: TargetVersion,
    pub fail_writes: bool,
    /// Faults met by the next writes, in order.
    pub write_faults: Mutex<Vec<Fault>>,
    /// Faults met by the next reads, in order.
    pub read_faults: Mutex<Vec<Fault>>,
    pub writes: Mutex<u32>,
}

fn throttled(operation: &'static str) -> AliasError {
    AliasError::Aws {
        operation,
        message: "TooManyRequestsException: Rate exceeded".into(),
        transient: true,
    }
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
            target: TargetVersion::Present {
                state: "Active".into(),
                last_update_status: "Successful".into(),
            },
            fail_writes: false,
            write_faults: Mutex::default(),
            read_faults: Mutex::default(),
            writes: Mutex::default(),
        }
    }

    pub fn now(&self) -> AliasState {
        self.alias.lock().unwrap().clone()
    }
}

#[async_trait]
impl AliasStore for FakeAliases {
    async fn get(&self, _: &str, _: &str) -> Result<AliasState, AliasError> {
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
        if self.fail_writes {
            return Err(AliasError::Aws {
                operation: "UpdateAlias",
                message: "AccessDeniedException: not allowed".into(),
                transient: false,
            });
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
            _ => Ok(alias.clone()),
        }
    }

    async fn version(&self, _: &str, _: &str) -> Result<TargetVersion, AliasError> {
        Ok(self.target.clone())
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

#[async_trait]
impl Notifier for FakeNotifier {
    async fn publish(&self, _: &str, notification: &Notification) -> Result<(), CallFailed> {
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

/// A deployment whose AppSpec is [`APPSPEC`], answered `Now` unless told otherwise.
#[derive(Default)]
pub struct FakeDeployments {
    pub appspec: Option<Result<String, DeploymentError>>,
    pub answer: Option<Result<Answered, DeploymentError>>,
    pub reports: Arc<Mutex<Vec<bool>>>,
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
}

/// Answers every invocation of version 7 with `payload`.
pub struct FakeInvoker(pub Vec<u8>);

#[async_trait]
impl Invoker for FakeInvoker {
    async fn invoke(&self, _: &str, qualifier: &str, _: &Value) -> Result<Invocation, String> {
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
}

impl World {
    pub fn new() -> World {
        World {
            aliases: FakeAliases::on("1"),
            alarms: FakeAlarms::all(AlarmState::Ok),
            metrics: FakeMetrics::counting((0, 0, None), (0, 0, None)),
            notifier: FakeNotifier::default(),
        }
    }

    pub fn driver(&self) -> Driver<'_> {
        Driver {
            aliases: &self.aliases,
            alarms: &self.alarms,
            metrics: &self.metrics,
            notifier: &self.notifier,
            source: "test",
            extra_alarms: &[],
            default_topic: Some(TOPIC),
            patience: crate::patience::Patience::default(),
        }
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
