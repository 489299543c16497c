//! The hook under test: the shared fakes assembled into a [`Hook`], and what they saw (public
//! with the `test-util` feature, for the hook functions' own tests).

use std::sync::{Arc, Mutex};

use super::*;
pub(super) use crate::testing::*;
use rollout_core::{AlarmState, Notification};

pub(super) fn settings(vars: &[(&str, &str)]) -> Result<HookSettings, InvalidField> {
    hook_settings(vars)
}

pub(super) fn alarms(script: Vec<Alarms>) -> FakeAlarms {
    FakeAlarms::scripted(script)
}

/// What a test arranges; anything left at its default is healthy.
#[derive(Default)]
pub struct Fakes {
    pub deployments: FakeDeployments,
    pub alarms: Option<FakeAlarms>,
    /// The function's versions; `Active` by default.
    pub aliases: Option<FakeAliases>,
    pub metrics: Option<FakeMetrics>,
    pub refuse_publish: bool,
}

/// What the fakes saw: the answers given to CodeDeploy, the notifications, the alarm reads.
pub struct Seen {
    pub reports: Arc<Mutex<Vec<bool>>>,
    pub sent: Arc<Mutex<Vec<Notification>>>,
    pub alarm_reads: Arc<Mutex<u32>>,
}

impl Seen {
    pub fn answers_and_events(&self) -> (Vec<bool>, Vec<&'static str>) {
        let events = self.sent.lock().unwrap().iter().map(|n| n.event).collect();
        (self.reports.lock().unwrap().clone(), events)
    }
}

pub fn hook(kind: HookKind, fakes: Fakes) -> (Hook, Seen) {
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
        aliases: Box::new(fakes.aliases.unwrap_or_else(|| FakeAliases::on("6"))),
        alarms: Box::new(alarm_source),
        metrics: Box::new(
            fakes
                .metrics
                .unwrap_or_else(|| FakeMetrics::counting((0, 0, None), (0, 0, None))),
        ),
        invoker: Box::new(FakeInvoker(br#"{"tag": "two", "version": "7"}"#.to_vec())),
        channels: vec![Box::new(notifier)],
    };
    (hook, seen)
}

pub(super) fn ok_alarms() -> FakeAlarms {
    alarms(vec![Alarms::States(vec![AlarmState::Ok])])
}
