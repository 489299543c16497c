//! In-memory adapters for the hook's unit tests: healthy by default, and failing, hanging
//! or panicking on demand, with what they saw kept for the test to read.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::*;
use crate::aws::alias::{AliasError, AliasUpdate};
use crate::aws::deploy::Answered;
use crate::aws::invoke::Invocation;
use crate::aws::notify::Notification;
use crate::observe::{AlarmState, AliasState, TargetVersion};

pub(super) const APPSPEC: &str = "Resources:\n  - fn:\n      Type: AWS::Lambda::Function\n      Properties: {Name: orders, Alias: live, CurrentVersion: 6, TargetVersion: 7}\n";
pub(super) const TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:rollouts";

#[derive(Default)]
pub(super) struct FakeDeployments {
    pub(super) appspec: Option<Result<String, DeploymentError>>,
    pub(super) answer: Option<Result<Answered, DeploymentError>>,
    pub(super) reports: Arc<Mutex<Vec<bool>>>,
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

pub(super) struct FakeAliases(TargetVersion);

#[async_trait]
impl AliasStore for FakeAliases {
    async fn get(&self, _: &str, _: &str) -> Result<AliasState, AliasError> {
        unimplemented!("hooks never read aliases")
    }
    async fn update(
        &self,
        _: &str,
        _: &str,
        _: &AliasUpdate,
        _: &str,
    ) -> Result<AliasState, AliasError> {
        unimplemented!("hooks never write aliases")
    }
    async fn version(&self, _: &str, _: &str) -> Result<TargetVersion, AliasError> {
        Ok(self.0.clone())
    }
    async fn list(&self, _: &str) -> Result<Vec<String>, AliasError> {
        unimplemented!("hooks never list aliases")
    }
}

/// Answers from `script` in turn (the last one forever); `Panic` and `Hang` misbehave.
#[derive(Clone)]
pub(super) enum Alarms {
    States(Vec<AlarmState>),
    Panic,
    Hang,
}

pub(super) struct FakeAlarms {
    pub(super) script: Mutex<Vec<Alarms>>,
    pub(super) reads: Arc<Mutex<u32>>,
}

pub(super) fn alarms(script: Vec<Alarms>) -> FakeAlarms {
    FakeAlarms {
        script: Mutex::new(script),
        reads: Arc::default(),
    }
}

#[async_trait]
impl AlarmSource for FakeAlarms {
    async fn verdicts(&self, names: &[String]) -> Vec<crate::observe::AlarmVerdict> {
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
            Alarms::Panic => panic!("alarm source exploded"),
            Alarms::Hang => std::future::pending().await,
        };
        names
            .iter()
            .zip(states)
            .map(|(n, s)| crate::observe::AlarmVerdict::new(n.clone(), s))
            .collect()
    }
    async fn tags(&self, _: &str) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
}

pub(super) struct FakeInvoker(Vec<u8>);

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

#[derive(Default)]
pub(super) struct FakeNotifier {
    pub(super) sent: Arc<Mutex<Vec<Notification>>>,
    pub(super) refuse: bool,
}

#[async_trait]
impl Notifier for FakeNotifier {
    async fn publish(&self, _: &str, notification: &Notification) -> Result<(), String> {
        self.sent.lock().unwrap().push(notification.clone());
        if self.refuse {
            Err("AuthorizationError".into())
        } else {
            Ok(())
        }
    }
}

pub(super) fn settings(vars: &[(&str, &str)]) -> Result<HookSettings, InvalidField> {
    let mut settings = HookSettings::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })?;
    settings.poll = Duration::from_millis(20);
    settings.margin = Duration::from_millis(200);
    Ok(settings)
}

/// What a test arranges; anything left at its default is healthy.
#[derive(Default)]
pub(super) struct Fakes {
    pub(super) deployments: FakeDeployments,
    pub(super) alarms: Option<FakeAlarms>,
    pub(super) refuse_publish: bool,
}

/// What the fakes saw: the answers given to CodeDeploy, the notifications, the alarm reads.
pub(super) struct Seen {
    pub(super) reports: Arc<Mutex<Vec<bool>>>,
    pub(super) sent: Arc<Mutex<Vec<Notification>>>,
    pub(super) alarm_reads: Arc<Mutex<u32>>,
}

impl Seen {
    pub(super) fn answers_and_events(&self) -> (Vec<bool>, Vec<&'static str>) {
        let events = self.sent.lock().unwrap().iter().map(|n| n.event).collect();
        (self.reports.lock().unwrap().clone(), events)
    }
}

pub(super) fn hook(kind: HookKind, fakes: Fakes) -> (Hook, Seen) {
    let alarm_source = fakes.alarms.unwrap_or_else(ok_alarms);
    let notifier = FakeNotifier {
        refuse: fakes.refuse_publish,
        ..FakeNotifier::default()
    };
    let seen = Seen {
        reports: Arc::clone(&fakes.deployments.reports),
        sent: Arc::clone(&notifier.sent),
        alarm_reads: Arc::clone(&alarm_source.reads),
    };
    let hook = Hook {
        kind,
        settings: settings(&[
            ("ALARM_NAMES", "errors"),
            ("NOTIFICATION_TOPIC_ARN", TOPIC),
            ("SMOKE_TEST_EXPECT", r#"{"tag": "two"}"#),
            ("BAKE_SECONDS", "1"),
        ]),
        deployments: Box::new(fakes.deployments),
        aliases: Box::new(FakeAliases(TargetVersion::Present {
            state: "Active".into(),
            last_update_status: "Successful".into(),
        })),
        alarms: Box::new(alarm_source),
        invoker: Box::new(FakeInvoker(br#"{"tag": "two", "version": "7"}"#.to_vec())),
        notifier: Box::new(notifier),
    };
    (hook, seen)
}

pub(super) fn ok_alarms() -> FakeAlarms {
    alarms(vec![Alarms::States(vec![AlarmState::Ok])])
}
