//! The driver against in-memory adapters: the ordering and error-path invariants that no
//! emulator can be made to break on demand (a publish that fails, a write that errors).

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::TimeZone;

use super::*;
use crate::aws::alarms::AlarmSource;
use crate::observe::{AlarmState, TargetVersion};

struct FakeAliases {
    alias: Mutex<AliasState>,
    fail_writes: bool,
}

#[async_trait]
impl AliasStore for FakeAliases {
    async fn get(&self, _: &str, _: &str) -> Result<AliasState, AliasError> {
        Ok(self.alias.lock().unwrap().clone())
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
                message: "ServiceException".into(),
            });
        }
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
        Ok(alias.clone())
    }

    async fn version(&self, _: &str, _: &str) -> Result<TargetVersion, AliasError> {
        Ok(TargetVersion::Present {
            state: "Active".into(),
            last_update_status: "Successful".into(),
        })
    }

    async fn list(&self, _: &str) -> Result<Vec<String>, AliasError> {
        Ok(vec!["live".into()])
    }
}

struct FakeAlarms(Mutex<AlarmState>);

#[async_trait]
impl AlarmSource for FakeAlarms {
    async fn verdicts(&self, names: &[String]) -> Vec<AlarmVerdict> {
        names
            .iter()
            .map(|n| AlarmVerdict::new(n.clone(), self.0.lock().unwrap().clone()))
            .collect()
    }

    async fn tags(&self, _: &str) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
}

struct FakeNotifier {
    sent: Mutex<Vec<(String, String)>>,
    fail: bool,
}

#[async_trait]
impl Notifier for FakeNotifier {
    async fn publish(&self, topic: &str, n: &Notification) -> Result<(), String> {
        if self.fail {
            return Err("SNS is down".into());
        }
        self.sent
            .lock()
            .unwrap()
            .push((topic.into(), n.event.into()));
        Ok(())
    }
}

struct World {
    aliases: FakeAliases,
    alarms: FakeAlarms,
    notifier: FakeNotifier,
}

impl World {
    fn new(fail_writes: bool, fail_publish: bool) -> World {
        World {
            aliases: FakeAliases {
                alias: Mutex::new(AliasState {
                    version: "1".into(),
                    routing: None,
                    revision_id: "r0".into(),
                    description: String::new(),
                }),
                fail_writes,
            },
            alarms: FakeAlarms(Mutex::new(AlarmState::Ok)),
            notifier: FakeNotifier {
                sent: Mutex::new(Vec::new()),
                fail: fail_publish,
            },
        }
    }

    fn driver(&self) -> Driver<'_> {
        Driver {
            aliases: &self.aliases,
            alarms: &self.alarms,
            notifier: &self.notifier,
            source: "test",
            extra_alarms: &[],
            default_topic: Some("arn:aws:sns:us-east-1:000000000000:t"),
        }
    }

    fn alias(&self) -> AliasState {
        self.aliases.alias.lock().unwrap().clone()
    }

    fn sent(&self) -> Vec<String> {
        self.notifier
            .sent
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }
}

fn spec() -> Spec {
    Spec {
        function_name: "orders".into(),
        alias: "live".into(),
        target_version: "2".into(),
        current_version: None,
        strategy: "Linear10PercentEvery1Minute".into(),
        alarms: vec!["errors".into()],
        notification_topic_arn: None,
        bake_time: None,
    }
}

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
}

#[tokio::test]
async fn a_failed_publish_never_blocks_or_undoes_a_rollback() {
    let world = World::new(false, false);
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0))
        .await
        .unwrap();
    let failing = World {
        notifier: FakeNotifier {
            sent: Mutex::new(Vec::new()),
            fail: true,
        },
        ..world
    };
    *failing.alarms.0.lock().unwrap() = AlarmState::Alarm;
    let err = failing.driver().step(&started, t(5)).await.unwrap_err();
    let DriveError::Notify {
        status, rollout, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(status, "RolledBack");
    assert_eq!(rollout.status, Status::RolledBack);
    let alias = failing.alias();
    assert_eq!(
        (alias.version.as_str(), alias.routing),
        ("1", None),
        "the alias is safe first"
    );
}

#[tokio::test]
async fn an_aws_error_on_a_write_is_returned_and_nothing_is_published() {
    let world = World::new(true, false);
    let err = world
        .driver()
        .start(&spec(), "r-1".into(), t(0))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DriveError::Alias(AliasError::Aws { .. })),
        "{err:?}"
    );
    assert!(world.sent().is_empty());
    assert_eq!(world.alias().routing, None);
}

#[tokio::test]
async fn a_failure_report_publishes_rollout_failed_and_leaves_the_alias() {
    let world = World::new(false, false);
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0))
        .await
        .unwrap();
    let failed = world
        .driver()
        .report_failure(&started, "throttled".into(), t(1))
        .await;
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(world.sent(), ["rollout.started", "rollout.failed"]);
    assert_eq!(world.alias().routing, Some(("2".into(), 0.1)));
}

#[tokio::test]
async fn stopping_a_settled_alias_changes_and_tells_nothing() {
    let world = World::new(false, false);
    let stopped = world
        .driver()
        .stop(request(EventKind::Aborted, None), t(0))
        .await
        .unwrap();
    assert_eq!(stopped.restored_version, None);
    assert_eq!(world.alias().revision_id, "r0");
    assert!(world.sent().is_empty());
}

#[tokio::test]
async fn a_stale_state_after_a_stop_ends_rolled_back_without_a_second_notice() {
    let world = World::new(false, false);
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0))
        .await
        .unwrap();
    world
        .driver()
        .stop(
            StopRequest {
                alarms: vec![AlarmVerdict::new("errors", AlarmState::Alarm)],
                ..request(EventKind::RolledBack, None)
            },
            t(1),
        )
        .await
        .unwrap();
    let ended = world.driver().step(&started, t(60)).await.unwrap();
    assert_eq!(ended.status, Status::RolledBack);
    let reason = ended.reason.unwrap();
    assert!(
        reason.contains("by test:errors") && reason.contains("version 1"),
        "{reason}"
    );
    assert_eq!(world.sent(), ["rollout.started", "rollout.rolled_back"]);
}

fn request(kind: EventKind, only_to_version: Option<&str>) -> StopRequest<'_> {
    StopRequest {
        function: "orders",
        alias: "live",
        kind,
        reason: "test",
        topic: None,
        alarms: Vec::new(),
        only_to_version,
    }
}

#[tokio::test]
async fn a_guarded_stop_leaves_a_split_made_by_someone_else() {
    let world = World::new(false, false);
    world.aliases.alias.lock().unwrap().routing = Some(("2".into(), 0.25));
    let stopped = world
        .driver()
        .stop(request(EventKind::Aborted, Some("2")), t(0))
        .await
        .unwrap();
    assert_eq!(stopped.restored_version, None, "{stopped:?}");
    assert_eq!(world.alias().routing, Some(("2".into(), 0.25)));
    // The same split made by our rollout to 2 is stopped.
    let world = World::new(false, false);
    world
        .driver()
        .start(&spec(), "r-1".into(), t(0))
        .await
        .unwrap();
    let stopped = world
        .driver()
        .stop(request(EventKind::Aborted, Some("2")), t(1))
        .await
        .unwrap();
    assert_eq!(stopped.restored_version.as_deref(), Some("1"));
}

#[tokio::test]
async fn a_failed_notice_of_someone_elses_change_still_answers_aborted() {
    let world = World::new(false, false);
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0))
        .await
        .unwrap();
    {
        let mut alias = world.aliases.alias.lock().unwrap();
        alias.routing = Some(("3".into(), 0.5));
        alias.revision_id = "r9".into();
    }
    let failing = World {
        notifier: FakeNotifier {
            sent: Mutex::new(Vec::new()),
            fail: true,
        },
        ..world
    };
    let ended = failing.driver().step(&started, t(60)).await.unwrap();
    assert_eq!(ended.status, Status::Aborted);
    assert_eq!(failing.alias().routing, Some(("3".into(), 0.5)));
}
