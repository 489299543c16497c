//! The driver against in-memory adapters: the ordering and error-path invariants that no
//! emulator can be made to break on demand (a publish that fails, a write that errors).

use std::time::Duration;

use super::*;
use crate::testing::{pending, provisioned, spec, t, FakeNotifier, World};
use rollout_core::AlarmState;

fn no_wait() -> ReadyWait<'static> {
    ReadyWait::up_to(Duration::ZERO)
}

#[tokio::test]
async fn a_failed_publish_never_blocks_or_undoes_a_rollback() {
    let world = World::new();
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    let failing = World {
        notifier: FakeNotifier {
            refuse: true,
            ..FakeNotifier::default()
        },
        ..world
    };
    failing.alarms.set(AlarmState::Alarm);
    let stepped = failing.driver().step(&started, t(5)).await.unwrap();
    let warning = stepped.warning.expect("the lost notice is reported");
    assert!(
        warning.starts_with("RolledBack, but the notification could not be published"),
        "{warning}"
    );
    assert_eq!(stepped.rollout.status, Status::RolledBack);
    let alias = failing.aliases.now();
    assert_eq!(
        (alias.version.as_str(), alias.routing),
        ("1", None),
        "the alias is safe first"
    );
}

#[tokio::test]
async fn an_aws_error_on_a_write_is_returned_and_nothing_is_published() {
    let mut world = World::new();
    world.aliases.fail_writes = true;
    let err = world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &no_wait())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DriveError::Alias(AliasError::Aws { .. })),
        "{err:?}"
    );
    assert!(world.notifier.events().is_empty());
    assert_eq!(world.aliases.now().routing, None);
}

#[tokio::test]
async fn a_failure_report_publishes_rollout_failed_and_leaves_the_alias() {
    let world = World::new();
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    let failed = world
        .driver()
        .report_failure(&started, "throttled".into(), t(1))
        .await;
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(
        world.notifier.events(),
        ["rollout.started", "rollout.failed"]
    );
    assert_eq!(world.aliases.now().routing, Some(("2".into(), 0.1)));
}

#[tokio::test]
async fn stopping_a_settled_alias_changes_and_tells_nothing() {
    let world = World::new();
    let stopped = world
        .driver()
        .stop(request(EventKind::Aborted, None), t(0))
        .await
        .unwrap();
    assert_eq!(stopped.restored_version, None);
    assert_eq!(world.aliases.now().revision_id, "r0");
    assert!(world.notifier.events().is_empty());
}

#[tokio::test]
async fn a_stale_state_after_a_stop_ends_rolled_back_without_a_second_notice() {
    let world = World::new();
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
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
    let ended = world.driver().step(&started, t(60)).await.unwrap().rollout;
    assert_eq!(ended.status, Status::RolledBack);
    let reason = ended.reason.unwrap();
    assert!(
        reason.contains("by test:errors") && reason.contains("version 1"),
        "{reason}"
    );
    assert_eq!(
        world.notifier.events(),
        ["rollout.started", "rollout.rolled_back"]
    );
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
    let world = World::new();
    world.aliases.alias.lock().unwrap().routing = Some(("2".into(), 0.25));
    let stopped = world
        .driver()
        .stop(request(EventKind::Aborted, Some("2")), t(0))
        .await
        .unwrap();
    assert_eq!(stopped.restored_version, None, "{stopped:?}");
    assert_eq!(world.aliases.now().routing, Some(("2".into(), 0.25)));
    // The same split made by our rollout to 2 is stopped.
    let world = World::new();
    world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &no_wait())
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
    let world = World::new();
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    {
        let mut alias = world.aliases.alias.lock().unwrap();
        alias.routing = Some(("3".into(), 0.5));
        alias.revision_id = "r9".into();
    }
    let failing = World {
        notifier: FakeNotifier {
            refuse: true,
            ..FakeNotifier::default()
        },
        ..world
    };
    let ended = failing
        .driver()
        .step(&started, t(60))
        .await
        .unwrap()
        .rollout;
    assert_eq!(ended.status, Status::Aborted);
    assert_eq!(failing.aliases.now().routing, Some(("3".into(), 0.5)));
}

#[tokio::test]
async fn a_pending_target_is_not_ready_and_nothing_is_touched() {
    let world = World::new();
    world.aliases.script_versions([pending()]);
    let err = world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &no_wait())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DriveError::Refused(Refusal::NotReady(why)) if why.contains("Pending")),
        "{err:?}"
    );
    assert_eq!(
        crate::failure::Failure::from(err).error_type,
        "VersionNotReady"
    );
    assert_eq!(world.aliases.called("UpdateAlias"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_start_waits_for_a_version_published_a_moment_ago() {
    let world = World::new();
    world.aliases.script_versions([pending(), pending()]);
    let wait = ReadyWait::up_to(Duration::from_secs(60));
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &wait)
        .await
        .unwrap()
        .rollout;
    assert_eq!(started.weight, 0.1);
    // The wait (0.75 s) happened before the first step: its hold starts after it.
    assert_eq!(
        started.started_at,
        t(0) + chrono::Duration::milliseconds(750)
    );
}

#[tokio::test]
async fn a_split_between_versions_of_different_roles_is_refused_untouched() {
    let mut world = World::new();
    world.aliases.by_version.insert(
        "1".into(),
        rollout_core::PublishedVersion::Present(rollout_core::VersionConfig::active(
            "arn:aws:iam::000000000000:role/old",
        )),
    );
    let err = world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &no_wait())
        .await
        .unwrap_err();
    let DriveError::Invalid(field) = &err else {
        panic!("{err:?}")
    };
    assert!(
        field.problem.contains("role/old") && field.problem.contains("role/orders"),
        "{err}"
    );
    assert_eq!(world.aliases.now().revision_id, "r0");
}

#[tokio::test]
async fn steps_on_an_alias_with_provisioned_concurrency_wait_for_its_allocation() {
    let world = World::new();
    world.aliases.script_provisioned(vec![
        Some(provisioned("READY", "")),
        Some(provisioned("IN_PROGRESS", "")),
        Some(provisioned("READY", "")),
    ]);
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    assert_eq!(
        started.provisioned_concurrency,
        Some(Provisioning::Allocating)
    );
    let before = world.alarms.reads.lock().unwrap().to_owned();
    // Allocating: only the allocation is read, no alarm; then READY starts the hold.
    let waiting = world.driver().step(&started, t(5)).await.unwrap().rollout;
    assert_eq!(waiting.wait_seconds, 10);
    let holding = world.driver().step(&waiting, t(15)).await.unwrap().rollout;
    assert_eq!(holding.provisioned_concurrency, Some(Provisioning::Ready));
    assert_eq!(holding.next_step_at, Some(t(75)));
    assert_eq!(
        *world.alarms.reads.lock().unwrap(),
        before,
        "nothing judged"
    );
    assert_eq!(world.aliases.routing_now(), Some(("2".into(), 0.1)));
}

#[tokio::test]
async fn a_failed_allocation_rolls_back_with_lambdas_reason_in_three_calls() {
    let world = World::new();
    world.aliases.script_provisioned(vec![
        Some(provisioned("READY", "")),
        Some(provisioned("FAILED", "FUNCTION_ERROR_INIT_FAILURE")),
    ]);
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    world.aliases.calls.lock().unwrap().clear();
    let ended = world.driver().step(&started, t(5)).await.unwrap().rollout;
    assert_eq!(ended.status, Status::RolledBack);
    assert!(
        ended
            .reason
            .as_deref()
            .unwrap()
            .contains("FUNCTION_ERROR_INIT_FAILURE"),
        "{ended:?}"
    );
    assert_eq!(world.aliases.routing_now(), None);
    assert_eq!(
        *world.aliases.calls.lock().unwrap(),
        ["GetProvisionedConcurrencyConfig", "UpdateAlias"],
        "plus one Publish"
    );
    assert_eq!(
        world.notifier.events(),
        ["rollout.started", "rollout.rolled_back"]
    );
}

#[tokio::test]
async fn a_rollout_without_provisioned_concurrency_never_asks_for_it_after_the_start() {
    let world = World::new();
    let started = world
        .driver()
        .start(&spec(), "r-1".into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    world.driver().step(&started, t(5)).await.unwrap();
    world.driver().step(&started, t(60)).await.unwrap();
    assert_eq!(world.aliases.called("GetProvisionedConcurrencyConfig"), 1);
}
