//! The driver against in-memory adapters: the ordering and error-path invariants that no
//! emulator can be made to break on demand (a publish that fails, a write that errors).

use std::time::Duration;

use super::*;
use crate::testing::{pending, provisioned, spec, t, Alarms, FakeNotifier, Fault, World, RID};
use rollout_core::AlarmState;
use rollout_core::AlarmVerdict;

fn no_wait() -> ReadyWait<'static> {
    ReadyWait::up_to(Duration::ZERO)
}

#[tokio::test]
async fn a_failed_publish_never_blocks_or_undoes_a_rollback() {
    let world = World::new();
    let started = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
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
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DriveError::Alias(AliasError::Aws(_))),
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
        .start(&spec(), RID.into(), t(0), &no_wait())
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
        .start(&spec(), RID.into(), t(0), &no_wait())
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
        scope: match only_to_version {
            Some(version) => StopScope::OurRolloutTo(version),
            None => StopScope::AnySplit,
        },
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
        .start(&spec(), RID.into(), t(0), &no_wait())
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
        .start(&spec(), RID.into(), t(0), &no_wait())
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

/// Starts `spec()` on a fresh world and fires its alarm: the next step must roll back.
async fn started_then_firing(world: &World) -> Rollout {
    let started = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    world.alarms.set(AlarmState::Alarm);
    started
}

#[tokio::test(start_paused = true)]
async fn a_rollback_keeps_going_through_throttling_until_the_alias_is_safe() {
    let world = World::new();
    let started = started_then_firing(&world).await;
    // Far more than the SDK's own three attempts: minutes of throttling in an incident.
    *world.aliases.write_faults.lock().unwrap() = vec![Fault::Throttle; 12];
    let stepped = world.driver().step(&started, t(5)).await.unwrap();
    assert_eq!(stepped.rollout.status, Status::RolledBack);
    assert!(stepped
        .rollout
        .reason
        .unwrap()
        .contains("alarm errors is in ALARM"));
    assert!(world.aliases.now().is_settled_on("1"));
    assert_eq!(
        world.notifier.events(),
        ["rollout.started", "rollout.rolled_back"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_rollback_that_cannot_land_within_its_bound_says_traffic_is_still_split() {
    let world = World::new();
    let started = started_then_firing(&world).await;
    *world.aliases.write_faults.lock().unwrap() = vec![Fault::Throttle; 10_000];
    let before = tokio::time::Instant::now();
    let stepped = world.driver().step(&started, t(5)).await.unwrap();
    let waited = tokio::time::Instant::now() - before;
    assert!(
        waited >= world.driver().patience.rollback,
        "gave up after {waited:?}"
    );
    let failed = stepped.rollout;
    assert_eq!(failed.status, Status::Failed);
    let reason = failed.reason.unwrap();
    assert!(
        reason.contains("traffic is still split: 10% on version 2, the rest on version 1"),
        "{reason}"
    );
    assert!(reason.contains("alarm errors is in ALARM"), "{reason}");
    assert_eq!(
        world.notifier.events(),
        ["rollout.started", "rollout.failed"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_rollback_whose_answer_was_lost_is_recognised_as_done() {
    let world = World::new();
    let started = started_then_firing(&world).await;
    *world.aliases.write_faults.lock().unwrap() = vec![Fault::LoseAnswer];
    let stepped = world.driver().step(&started, t(5)).await.unwrap();
    assert_eq!(stepped.rollout.status, Status::RolledBack);
    assert_eq!(
        *world.aliases.writes.lock().unwrap(),
        2,
        "one start, one rollback"
    );
    assert_eq!(
        world.notifier.events(),
        ["rollout.started", "rollout.rolled_back"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_shift_whose_answer_was_lost_is_our_own_write_not_someone_elses() {
    let world = World::new();
    let started = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    *world.aliases.write_faults.lock().unwrap() = vec![Fault::LoseAnswer];
    let stepped = world.driver().step(&started, t(60)).await.unwrap();
    assert_eq!(stepped.rollout.status, Status::InProgress);
    assert_eq!(
        (stepped.rollout.step_index, stepped.rollout.weight),
        (1, 0.2)
    );
    assert_eq!(
        stepped.rollout.alias_revision_id,
        world.aliases.now().revision_id
    );
    assert_eq!(
        world.notifier.events(),
        ["rollout.started", "rollout.shifted"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_start_whose_answer_was_lost_is_its_own_start() {
    let world = World::new();
    *world.aliases.write_faults.lock().unwrap() = vec![Fault::LoseAnswer];
    let started = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    assert_eq!((started.status, started.weight), (Status::InProgress, 0.1));
    assert_eq!(started.alias_revision_id, world.aliases.now().revision_id);
}

#[tokio::test(start_paused = true)]
async fn throttled_alarm_reads_are_retried_not_taken_for_a_breach() {
    let world = World::new();
    let started = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    *world.alarms.script.lock().unwrap() = vec![
        Alarms::Throttled,
        Alarms::Throttled,
        Alarms::Throttled,
        Alarms::States(vec![AlarmState::Ok]),
    ];
    let stepped = world.driver().step(&started, t(60)).await.unwrap();
    assert_eq!(
        (stepped.rollout.status, stepped.rollout.step_index),
        (Status::InProgress, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn alarms_unreadable_past_the_read_bound_fail_closed() {
    let world = World::new();
    let started = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    *world.alarms.script.lock().unwrap() = vec![Alarms::Throttled];
    let stepped = world.driver().step(&started, t(60)).await.unwrap();
    assert_eq!(stepped.rollout.status, Status::RolledBack);
    assert!(stepped
        .rollout
        .reason
        .unwrap()
        .contains("could not be read"));
}

#[tokio::test(start_paused = true)]
async fn a_replayed_stop_sends_the_alert_it_owes_with_the_original_reason() {
    let world = World::new();
    world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap();
    let refusing = World {
        notifier: FakeNotifier {
            refuse: true,
            ..FakeNotifier::default()
        },
        ..world
    };
    let alarm = vec![AlarmVerdict::new("errors", AlarmState::Alarm)];
    let mut first = request(EventKind::RolledBack, None);
    first.alarms = alarm.clone();
    first.reason = "alarm errors went to ALARM: spike";
    let stopped = refusing.driver().stop(first, t(5)).await.unwrap();
    assert!(stopped.warning.is_some(), "the first publish failed");
    let world = World {
        notifier: FakeNotifier::default(),
        ..refusing
    };
    let mut again = request(EventKind::RolledBack, None);
    again.alarms = alarm;
    again.reason = "a later, different reason";
    let replayed = world.driver().stop(again, t(6)).await.unwrap();
    assert_eq!(replayed.status, "RolledBack");
    assert_eq!(replayed.restored_version.as_deref(), Some("1"));
    let sent = world.notifier.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].event, "rollout.rolled_back");
    assert_eq!(
        sent[0].reason.as_deref(),
        Some("alarm errors went to ALARM: spike")
    );
    assert_eq!(sent[0].event_id, format!("{RID}/0/rollout.rolled_back"));
}

#[tokio::test]
async fn a_stop_never_trusts_a_marker_the_alias_no_longer_matches() {
    let world = World::new();
    world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap();
    {
        // Someone promoted by hand, leaving the description as it was.
        let mut alias = world.aliases.alias.lock().unwrap();
        alias.version = "2".into();
        alias.routing = None;
        alias.revision_id = "r9".into();
    }
    let stopped = world
        .driver()
        .stop(request(EventKind::Aborted, None), t(5))
        .await
        .unwrap();
    assert_eq!(stopped.restored_version, None);
    assert!(world.aliases.now().is_settled_on("2"), "their change stays");
}

#[tokio::test]
async fn a_topic_that_cannot_be_published_to_refuses_the_start_and_touches_nothing() {
    let mut world = World::new();
    world.notifier.no_topic = true;
    let err = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap_err();
    let DriveError::Invalid(field) = err else {
        panic!("{err:?}")
    };
    assert_eq!(field.field, "notificationTopicArn");
    assert_eq!(*world.aliases.writes.lock().unwrap(), 0);
}

#[tokio::test]
async fn a_pending_target_is_not_ready_and_nothing_is_touched() {
    let world = World::new();
    world.aliases.script_versions([pending()]);
    let err = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
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
        .start(&spec(), RID.into(), t(0), &wait)
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
        .start(&spec(), RID.into(), t(0), &no_wait())
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
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    assert_eq!(
        started.provisioned_concurrency,
        Some(Provisioning::Allocating)
    );
    let before = world.alarms.reads.lock().unwrap().to_owned();
    // Allocating: the alarms and the allocation are read, nothing is judged; then READY
    // starts the hold.
    let waiting = world.driver().step(&started, t(5)).await.unwrap().rollout;
    assert_eq!(waiting.wait_seconds, 10);
    assert_eq!(waiting.last_judgement, None);
    let holding = world.driver().step(&waiting, t(15)).await.unwrap().rollout;
    assert_eq!(holding.provisioned_concurrency, Some(Provisioning::Ready));
    assert_eq!(holding.next_step_at, Some(t(75)));
    assert_eq!(
        *world.alarms.reads.lock().unwrap(),
        before + 2,
        "alarms watched"
    );
    assert_eq!(world.aliases.routing_now(), Some(("2".into(), 0.1)));
}

#[tokio::test]
async fn an_alarm_rolls_back_at_once_while_provisioned_concurrency_is_allocating() {
    let world = World::new();
    world.aliases.script_provisioned(vec![
        Some(provisioned("READY", "")),
        Some(provisioned("IN_PROGRESS", "")),
    ]);
    let started = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    let waiting = world.driver().step(&started, t(5)).await.unwrap().rollout;
    assert_eq!(waiting.status, Status::InProgress);
    world.alarms.set(AlarmState::Alarm);
    // Still IN_PROGRESS 40 s after the shift: the breach is not left waiting for it.
    world.aliases.calls.lock().unwrap().clear();
    let ended = world.driver().step(&waiting, t(45)).await.unwrap().rollout;
    assert_eq!(ended.status, Status::RolledBack, "{ended:?}");
    assert_eq!(
        *world.aliases.calls.lock().unwrap(),
        ["UpdateAlias"],
        "plus DescribeAlarms and one Publish: three calls"
    );
    assert_eq!(world.aliases.routing_now(), None);
    assert_eq!(
        world.notifier.events(),
        ["rollout.started", "rollout.rolled_back"]
    );
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
        .start(&spec(), RID.into(), t(0), &no_wait())
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
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    world.driver().step(&started, t(5)).await.unwrap();
    world.driver().step(&started, t(60)).await.unwrap();
    assert_eq!(world.aliases.called("GetProvisionedConcurrencyConfig"), 1);
}

mod judged;

#[tokio::test(start_paused = true)]
async fn a_stop_whose_answer_was_lost_still_tells_people_once_per_split() {
    let world = World::new();
    // A split no rollout of ours made (no marker), as an operator's abort finds it.
    world.aliases.alias.lock().unwrap().routing = Some(("2".into(), 0.3));
    *world.aliases.write_faults.lock().unwrap() = vec![Fault::LoseAnswer];
    let stopped = world
        .driver()
        .stop(request(EventKind::Aborted, None), t(5))
        .await
        .unwrap();
    assert_eq!(stopped.restored_version.as_deref(), Some("1"));
    assert!(world.aliases.now().is_settled_on("1"));
    let sent = world.notifier.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "told once, not left silent");
    // Keyed by the split it replaced: another abort of another split is another event.
    assert_eq!(sent[0].event_id, "orders:live@r0/rollout.aborted");
}

mod control {
    use super::*;
    use rollout_core::engine::control::Operator;
    use rollout_core::state::Control;

    fn asked(op: Operator) -> ControlRequest<'static> {
        ControlRequest {
            function: "orders",
            alias: "live",
            op,
            reason: "looking into p99",
            topic: None,
        }
    }

    async fn started(world: &World) -> Rollout {
        world
            .driver()
            .start(&spec(), RID.into(), t(0), &no_wait())
            .await
            .unwrap()
            .rollout
    }

    #[tokio::test]
    async fn a_pause_is_written_once_told_once_and_held_by_the_driver() {
        let world = World::new();
        let rollout = started(&world).await;
        let done = world
            .driver()
            .control(asked(Operator::Pause), t(5))
            .await
            .unwrap();
        assert_eq!(
            (done.event, done.step_index, done.weight),
            ("rollout.paused", 0, 0.1)
        );
        let paused_alias = world.aliases.now();
        assert_eq!(paused_alias.routing, Some(("2".into(), 0.1)));
        assert!(
            paused_alias.description.contains(" op=paused "),
            "{}",
            paused_alias.description
        );
        // Due, but paused: the driver's write meets the operator's revision, adopts it, and
        // shifts nothing.
        let writes = *world.aliases.writes.lock().unwrap();
        let held = world.driver().step(&rollout, t(120)).await.unwrap().rollout;
        assert_eq!(held.control, Some(Control::Paused));
        assert_eq!(held.alias_revision_id, paused_alias.revision_id);
        assert_eq!(world.aliases.now(), paused_alias);
        let again = world.driver().step(&held, t(180)).await.unwrap().rollout;
        assert_eq!((again.step_index, again.wait_seconds), (0, 60));
        assert_eq!(
            *world.aliases.writes.lock().unwrap(),
            writes + 1,
            "only the refused write"
        );
        assert_eq!(
            world.notifier.events(),
            ["rollout.started", "rollout.paused"]
        );
        // A breach while paused still rolls back.
        world.alarms.set(AlarmState::Alarm);
        let rolled = world.driver().step(&again, t(200)).await.unwrap().rollout;
        assert_eq!(rolled.status, Status::RolledBack);
        assert_eq!(
            (
                world.aliases.now().version.as_str(),
                world.aliases.now().routing
            ),
            ("1", None)
        );
    }

    #[tokio::test]
    async fn a_breach_rolls_back_a_pause_the_driver_has_not_seen_yet() {
        let world = World::new();
        let rollout = started(&world).await;
        world
            .driver()
            .control(asked(Operator::Pause), t(5))
            .await
            .unwrap();
        world.alarms.set(AlarmState::Alarm);
        let rolled = world.driver().step(&rollout, t(10)).await.unwrap().rollout;
        assert_eq!(rolled.status, Status::RolledBack);
        assert_eq!(world.aliases.now().routing, None);
    }

    #[tokio::test]
    async fn a_lost_answer_on_the_operators_write_counts_as_done() {
        let world = World::new();
        started(&world).await;
        world
            .aliases
            .write_faults
            .lock()
            .unwrap()
            .push(Fault::LoseAnswer);
        let done = world
            .driver()
            .control(asked(Operator::Pause), t(5))
            .await
            .unwrap();
        assert_eq!(done.alias_revision_id, world.aliases.now().revision_id);
        assert_eq!(
            world.notifier.events(),
            ["rollout.started", "rollout.paused"]
        );
    }

    /// The answer lost, then throttling until the bound: a last read finds the write.
    #[tokio::test(start_paused = true)]
    async fn an_operators_write_that_landed_before_a_throttling_storm_counts_as_done() {
        let world = World::new();
        started(&world).await;
        let mut faults = vec![Fault::LandedThenThrottled];
        faults.extend([Fault::Throttle; 1000]);
        *world.aliases.write_faults.lock().unwrap() = faults;
        let done = world
            .driver()
            .control(asked(Operator::Pause), t(5))
            .await
            .expect("its own write, found");
        assert_eq!(done.alias_revision_id, world.aliases.now().revision_id);
        assert!(world.aliases.now().description.contains(" op=paused "));
        assert_eq!(
            world.notifier.events(),
            ["rollout.started", "rollout.paused"]
        );
        // A storm where nothing landed stays an error, and nothing is told.
        let before = world.aliases.now();
        *world.aliases.write_faults.lock().unwrap() = vec![Fault::Throttle; 1000];
        let failed = world.driver().control(asked(Operator::Resume), t(6)).await;
        assert!(
            matches!(failed, Err(ControlError::Drive(DriveError::Alias(ref e))) if e.is_transient()),
            "{failed:?}"
        );
        assert_eq!(world.aliases.now(), before);
        assert_eq!(world.notifier.events().len(), 2);
    }

    /// A marker edited by hand to `op=promoted-full` that is not this rollout's, not in
    /// progress, or not what the alias carries: the driver never acts on it (no write, no
    /// 100 %) and stops as for anyone else's change.
    #[tokio::test]
    async fn a_forged_promote_is_never_acted_upon() {
        type Forgery = (&'static str, fn(&mut Marker));
        let forgeries: [Forgery; 5] = [
            ("someone else's rollout", |m| {
                m.rollout_id = "r-20990101T000000000Z".into()
            }),
            ("an ended rollout", |m| m.status = Status::Succeeded),
            ("a weight the alias does not have", |m| m.weight = Some(0.5)),
            ("a step the plan has at another weight", |m| {
                m.step_index = 3
            }),
            ("other versions", |m| m.to_version = "3".into()),
        ];
        for (what, forge) in forgeries {
            let world = World::new();
            let rollout = started(&world).await;
            let mut marker = Marker::of(&rollout);
            forge(&mut marker);
            marker.control = Some(Control::PromotedFull);
            marker.by = Some("someone".into());
            {
                let mut alias = world.aliases.alias.lock().unwrap();
                alias.description = marker.render();
                alias.revision_id = "r99".into();
            }
            let edited = world.aliases.now();
            let writes = *world.aliases.writes.lock().unwrap();
            let mut state = rollout;
            for at in [5, 61, 121] {
                state = world.driver().step(&state, t(at)).await.unwrap().rollout;
            }
            assert_eq!(state.status, Status::Aborted, "{what}: {:?}", state.reason);
            assert_eq!(world.aliases.now(), edited, "{what}: never overwritten");
            assert_eq!(*world.aliases.writes.lock().unwrap(), writes, "{what}");
            assert_eq!(
                world.notifier.events(),
                ["rollout.started", "rollout.aborted"],
                "{what}"
            );
        }
    }

    #[tokio::test]
    async fn a_refused_request_touches_nothing_and_tells_no_one() {
        let world = World::new();
        let refused = world
            .driver()
            .control(asked(Operator::Promote { full: false }), t(0))
            .await;
        assert!(
            matches!(refused, Err(ControlError::Refused(_))),
            "{refused:?}"
        );
        started(&world).await;
        let before = world.aliases.now();
        let refused = world.driver().control(asked(Operator::Resume), t(1)).await;
        assert!(matches!(refused, Err(ControlError::Refused(ref r)) if r.0.contains("not paused")));
        assert_eq!(world.aliases.now(), before);
        assert_eq!(world.notifier.events(), ["rollout.started"]);
    }

    #[tokio::test]
    async fn a_promote_is_taken_on_the_next_check_with_one_shift_and_one_notice() {
        let world = World::new();
        let rollout = started(&world).await;
        world
            .driver()
            .control(asked(Operator::Promote { full: true }), t(5))
            .await
            .unwrap();
        // Not due yet: the check adopts the promote (no write)...
        let adopted = world.driver().step(&rollout, t(6)).await.unwrap().rollout;
        assert_eq!(
            (adopted.control, adopted.wait_seconds),
            (Some(Control::PromotedFull), 0)
        );
        // ...and the next one goes straight to 100 %.
        let promoted = world.driver().step(&adopted, t(6)).await.unwrap().rollout;
        assert_eq!((promoted.status, promoted.weight), (Status::Succeeded, 1.0));
        assert_eq!(
            world.notifier.events(),
            ["rollout.started", "rollout.promoted", "rollout.succeeded"]
        );
        assert!(!world.aliases.now().description.contains("op="));
    }

    /// Every AWS call the fakes saw: alias calls, alarm reads, metric reads, publishes.
    fn calls(world: &World) -> usize {
        world.aliases.calls.lock().unwrap().len()
            + *world.alarms.reads.lock().unwrap() as usize
            + *world.metrics.reads.lock().unwrap() as usize
            + world.notifier.sent.lock().unwrap().len()
    }

    #[tokio::test]
    async fn checks_of_a_paused_rollout_stay_within_the_budget() {
        let world = World::new();
        let rollout = started(&world).await;
        world
            .driver()
            .control(asked(Operator::Pause), t(5))
            .await
            .unwrap();
        // Due: the alarms, the write refused (the operator's revision), the re-read that
        // finds the pause.
        let before = calls(&world);
        let held = world.driver().step(&rollout, t(120)).await.unwrap().rollout;
        assert_eq!(held.control, Some(Control::Paused));
        assert_eq!(calls(&world) - before, 3);
        assert!(world
            .aliases
            .calls
            .lock()
            .unwrap()
            .ends_with(&["UpdateAlias", "GetAlias"]));
        // Paused from then on: the alarms and the alias.
        let before = calls(&world);
        world.driver().step(&held, t(180)).await.unwrap();
        assert_eq!(calls(&world) - before, 2);
    }

    #[tokio::test]
    async fn checks_of_a_paused_judged_rollout_stay_within_four_calls() {
        let world = World::new();
        let mut judged = spec();
        judged.analysis = Some(rollout_core::Analysis::default());
        let rollout = world
            .driver()
            .start(&judged, RID.into(), t(0), &no_wait())
            .await
            .unwrap()
            .rollout;
        world
            .driver()
            .control(asked(Operator::Pause), t(5))
            .await
            .unwrap();
        let mut state = rollout;
        for at in [120, 180, 240] {
            let before = calls(&world);
            state = world.driver().step(&state, t(at)).await.unwrap().rollout;
            assert_eq!(
                (state.control, state.step_index),
                (Some(Control::Paused), 0)
            );
            let made = calls(&world) - before;
            assert!(made <= 4, "{made} calls at t({at})");
        }
    }
}

/// Linear 10 % a minute: each shift keeps its weight for later; a check that changes nothing
/// sends them (backdated) with the current step's weight, in one call.
#[tokio::test]
async fn a_shift_keeps_its_weight_and_the_next_check_sends_it() {
    let world = World::new();
    let driver = world.driver();
    let started = driver
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    assert_eq!(
        *world.own_metrics.calls.lock().unwrap(),
        1,
        "the start sends 10 %"
    );
    assert!(world.own_metrics.values().iter().all(|v| *v == 10.0));
    let shifted = driver.step(&started, t(60)).await.unwrap().rollout;
    assert_eq!(shifted.weight, 0.2);
    assert_eq!(
        *world.own_metrics.calls.lock().unwrap(),
        1,
        "a shift spends no call on it"
    );
    assert_eq!(driver.owed_weights.owed(&shifted.rollout_id).len(), 1);
    let checked = driver.step(&shifted, t(70)).await.unwrap().rollout;
    assert_eq!(
        checked.step_index, shifted.step_index,
        "not due: nothing moved"
    );
    assert_eq!(*world.own_metrics.calls.lock().unwrap(), 2);
    assert!(
        driver.owed_weights.owed(&checked.rollout_id).is_empty(),
        "sent, forgotten"
    );
    let points = world.own_metrics.points.lock().unwrap().clone();
    let sent: Vec<(f64, DateTime<Utc>)> = points[points.len() - 3..]
        .iter()
        .map(|p| (p.value, p.at))
        .collect();
    assert_eq!(sent, [(20.0, t(60)), (20.0, t(60)), (20.0, t(70))]);
    assert!(points
        .iter()
        .all(|p| (p.function.as_str(), p.alias.as_str()) == ("orders", "live")));
    // Later checks with nothing owed send nothing: one call per change, not one per poll.
    let again = driver.step(&checked, t(72)).await.unwrap().rollout;
    driver.step(&again, t(74)).await.unwrap();
    assert_eq!(*world.own_metrics.calls.lock().unwrap(), 2);
}

/// A free sink (inside Lambda, a log line): each step sends the weight it leaves the alias at,
/// at once, shift and end alike, and nothing is ever owed.
#[tokio::test]
async fn a_free_sink_gets_each_weight_when_applied_and_the_end_with_nothing_owed() {
    let mut world = World::new();
    world.own_metrics.free = true;
    let driver = world.driver();
    let mut rollout = driver
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    let sent = || -> Vec<(f64, DateTime<Utc>)> {
        let points = world.own_metrics.points.lock().unwrap();
        points.iter().map(|p| (p.value, p.at)).collect()
    };
    assert_eq!(sent(), [(10.0, t(0))], "the start: its weight, once");
    let mut at = 0;
    while !rollout.status.is_terminal() {
        at += 30;
        let before = sent().len();
        rollout = driver.step(&rollout, t(at)).await.unwrap().rollout;
        assert!(
            driver.owed_weights.owed(&rollout.rollout_id).is_empty(),
            "owed at t({at})"
        );
        let percent = (rollout.weight * 1e8).round() / 1e6;
        assert_eq!(
            sent()[before..],
            [(percent, t(at))],
            "each step (shift or check) sends the weight now, once"
        );
    }
    assert_eq!(rollout.status, Status::Succeeded);
    assert_eq!(sent().last(), Some(&(100.0, t(at))), "the end goes out too");
    let steps: Vec<f64> = sent().iter().map(|(v, _)| *v).collect();
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
    assert!(steps.contains(&50.0) && !steps.iter().any(|v| v.fract() != 0.0));
}

#[tokio::test]
async fn a_free_sink_gets_zero_as_a_rollback_ends() {
    let mut world = World::new();
    world.own_metrics.free = true;
    let started = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    let shifted = world.driver().step(&started, t(60)).await.unwrap().rollout;
    world.alarms.set(AlarmState::Alarm);
    let driver = world.driver();
    let ended = driver.step(&shifted, t(65)).await.unwrap().rollout;
    assert_eq!(ended.status, Status::RolledBack);
    assert!(driver.owed_weights.owed(&ended.rollout_id).is_empty());
    let points = world.own_metrics.points.lock().unwrap().clone();
    let sent: Vec<(f64, DateTime<Utc>)> = points.iter().map(|p| (p.value, p.at)).collect();
    assert_eq!(sent, [(10.0, t(0)), (20.0, t(60)), (0.0, t(65))]);
}

/// A state an earlier version wrote may still carry the weights it owed: it steps, they are
/// dropped (the CLI now keeps them in its driver, never in the state), and never written.
#[tokio::test]
async fn an_older_state_that_owed_weights_still_steps_and_they_are_never_written_again() {
    let mut world = World::new();
    world.own_metrics.free = true;
    let started = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    let mut old = serde_json::to_value(&started).unwrap();
    old["unpublishedWeights"] = serde_json::json!([{"weight": 0.1, "at": t(0)}]);
    let old: Rollout = serde_json::from_value(old).unwrap();
    let checked = world.driver().step(&old, t(10)).await.unwrap().rollout;
    let points = world.own_metrics.points.lock().unwrap().clone();
    let sent: Vec<(f64, DateTime<Utc>)> = points.iter().map(|p| (p.value, p.at)).collect();
    assert_eq!(
        sent,
        [(10.0, t(0)), (10.0, t(10))],
        "the start's weight, then now's"
    );
    let json = serde_json::to_value(&checked).unwrap();
    assert!(json.get("unpublishedWeights").is_none(), "{json}");
}

#[tokio::test]
async fn a_rollback_sends_zero_last_and_a_failed_put_changes_nothing() {
    let mut world = World::new();
    let started = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    let shifted = world.driver().step(&started, t(60)).await.unwrap().rollout;
    world.own_metrics.refuse = true;
    world.alarms.set(AlarmState::Alarm);
    let stepped = world.driver().step(&shifted, t(65)).await.unwrap();
    assert_eq!(stepped.rollout.status, Status::RolledBack);
    assert_eq!(
        stepped.warning, None,
        "a lost metric is no warning to act on"
    );
    assert_eq!(world.aliases.now().routing, None);
    assert_eq!(world.notifier.events().last(), Some(&"rollout.rolled_back"));
    world.own_metrics.refuse = false;
    world.alarms.set(AlarmState::Ok);
    let started = world
        .driver()
        .start(&spec(), "r-20270115T090000000Z".into(), t(100), &no_wait())
        .await
        .unwrap()
        .rollout;
    world.alarms.set(AlarmState::Alarm);
    world.driver().step(&started, t(110)).await.unwrap();
    assert_eq!(world.own_metrics.values().last(), Some(&0.0));
}

#[tokio::test]
async fn every_event_also_goes_to_the_bus_and_a_failed_put_is_a_warning() {
    let mut world = World::new();
    let started = world
        .driver()
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .rollout;
    let on_bus: Vec<_> = world.events.sent.lock().unwrap().clone();
    assert_eq!(on_bus.len(), 1);
    assert_eq!(
        on_bus[0].detail(),
        world.notifier.sent.lock().unwrap()[0].detail()
    );
    world.events.refuse = true;
    world.alarms.set(AlarmState::Alarm);
    let stepped = world.driver().step(&started, t(5)).await.unwrap();
    assert_eq!(stepped.rollout.status, Status::RolledBack);
    assert_eq!(world.aliases.now().routing, None, "the alias is safe first");
    assert_eq!(world.notifier.events().last(), Some(&"rollout.rolled_back"));
    let warning = stepped.warning.expect("the lost event is reported");
    assert!(
        warning.contains("could not be sent to EventBridge"),
        "{warning}"
    );
}
