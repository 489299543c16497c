use super::*;
use crate::testing::{t, Alarms, Fault, SetWorld, RID};
use rollout_core::{AlarmState, Decision, Status};
use serde_json::json;
use std::time::Duration;

const FUNCTIONS: [&str; 3] = ["orders-api", "orders-worker", "orders-audit"];

fn spec() -> SetSpec {
    serde_json::from_value(json!({"set": "checkout", "members": [
        {"functionName": "orders-api", "alias": "live", "targetVersion": "2"},
        {"functionName": "orders-worker", "alias": "live", "targetVersion": "2",
         "alarms": ["worker-dlq-depth"]},
        {"functionName": "orders-audit", "alias": "live", "targetVersion": "2"}],
        "strategy": "Canary10Percent5Minutes", "alarms": ["checkout-errors"]}))
    .unwrap()
}

fn no_wait() -> ReadyWait<'static> {
    ReadyWait::up_to(Duration::ZERO)
}

fn split(weight: f64) -> (String, Option<(String, f64)>) {
    ("1".into(), Some(("2".into(), weight)))
}

fn on(version: &str) -> (String, Option<(String, f64)>) {
    (version.into(), None)
}

async fn started(world: &SetWorld) -> SetRollout {
    let home = world.world.driver();
    let sd = SetDriver {
        home: &home,
        places: world,
    };
    sd.start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .set
}

/// Quick enough for a unit test, the same shape as in production.
const PATIENCE: crate::patience::Patience = crate::patience::Patience {
    reads: Duration::from_secs(2),
    rollback: Duration::from_secs(20),
    first_delay: Duration::from_millis(5),
    max_delay: Duration::from_millis(50),
};

async fn step(world: &SetWorld, set: &SetRollout, at: i64) -> SetStepped {
    let mut home = world.world.driver();
    home.patience = PATIENCE;
    let sd = SetDriver {
        home: &home,
        places: world,
    };
    sd.step(set, t(at)).await.unwrap()
}

#[tokio::test]
async fn every_member_moves_in_lockstep_and_the_set_is_told_once_per_step() {
    let world = SetWorld::new(&FUNCTIONS);
    let set = started(&world).await;
    assert_eq!(world.standing(), vec![split(0.1); 3]);
    assert_eq!(set.status, Status::InProgress);
    assert!(set.members.iter().all(|m| m.weight == 0.1));
    let held = step(&world, &set, 60).await.set;
    assert_eq!(held.step_index, 0, "the hold is five minutes");
    let done = step(&world, &held, 301).await.set;
    assert_eq!(done.status, Status::Succeeded);
    assert_eq!(world.standing(), vec![on("2"); 3]);
    assert_eq!(
        world.world.notifier.events(),
        ["rollout.started", "rollout.succeeded"]
    );
    let last = world.world.notifier.sent.lock().unwrap()[1].clone();
    assert_eq!(last.set.as_deref(), Some("checkout"));
    assert_eq!(last.members.len(), 3);
    assert_eq!(last.event_id, format!("{RID}/1/rollout.succeeded"));
}

#[tokio::test]
async fn a_set_is_refused_whole_with_every_finding_and_nothing_written() {
    let mut world = SetWorld::new(&FUNCTIONS);
    // The audit function's alias is not on the version the spec says it comes from.
    let mut spec = spec();
    spec.members[2].current_version = Some("5".into());
    world.unreachable.push("orders-worker".into());
    let home = world.world.driver();
    let sd = SetDriver {
        home: &home,
        places: &world,
    };
    let e = sd
        .start(&spec, RID.into(), t(0), &no_wait())
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, DriveError::Invalid(ref f) if f.field == "members[1].roleArn"),
        "{text}"
    );
    assert!(text.contains("orders-worker:live"), "{text}");
    world.unreachable.clear();
    let sd = SetDriver {
        home: &home,
        places: &world,
    };
    let e = sd
        .start(&spec, RID.into(), t(0), &no_wait())
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("members[2] orders-audit:live"),
        "{e}"
    );
    assert_eq!(world.standing(), vec![on("1"); 3]);
    assert!(world
        .members
        .iter()
        .all(|(_, a)| *a.writes.lock().unwrap() == 0));
    assert!(world.world.notifier.events().is_empty());
}

#[tokio::test]
async fn a_members_own_alarm_puts_every_member_back_and_names_it() {
    let world = SetWorld::new(&FUNCTIONS);
    let set = started(&world).await;
    // The caller's place reads the set's alarm, then the worker's own.
    *world.world.alarms.script.lock().unwrap() =
        vec![Alarms::States(vec![AlarmState::Ok, AlarmState::Alarm])];
    let stepped = step(&world, &set, 30).await;
    assert_eq!(stepped.set.status, Status::RolledBack);
    assert_eq!(world.standing(), vec![on("1"); 3]);
    let reason = stepped.set.reason.unwrap();
    assert!(reason.contains("members[1] orders-worker:live"), "{reason}");
    assert!(reason.contains("worker-dlq-depth"), "{reason}");
    assert_eq!(
        world.world.notifier.events(),
        ["rollout.started", "rollout.rolled_back"]
    );
    let note = world.world.notifier.sent.lock().unwrap()[1].clone();
    assert_eq!(note.function_name, "orders-worker");
    assert!(note
        .subject()
        .starts_with("checkout (3 functions) rolled back: "));
}

#[tokio::test]
async fn the_sets_alarm_is_read_once_for_every_member() {
    let world = SetWorld::new(&FUNCTIONS);
    let set = started(&world).await;
    let before = *world.world.alarms.reads.lock().unwrap();
    let calls_before: usize = world
        .members
        .iter()
        .map(|(_, a)| a.calls.lock().unwrap().len())
        .sum();
    step(&world, &set, 301).await;
    assert_eq!(*world.world.alarms.reads.lock().unwrap() - before, 1);
    let calls: usize = world
        .members
        .iter()
        .map(|(_, a)| a.calls.lock().unwrap().len())
        .sum();
    assert_eq!(calls - calls_before, 3, "one write per member");
}

#[tokio::test]
async fn someone_elses_change_to_one_member_is_left_and_the_others_go_back() {
    let world = SetWorld::new(&FUNCTIONS);
    let set = started(&world).await;
    {
        let mut alias = world.alias("orders-api").alias.lock().unwrap();
        alias.version = "3".into();
        alias.routing = None;
        alias.revision_id = "theirs".into();
        alias.description = "hotfix".into();
    }
    let stepped = step(&world, &set, 30).await;
    assert_eq!(stepped.set.status, Status::Aborted);
    assert_eq!(world.standing(), vec![on("3"), on("1"), on("1")]);
    assert_eq!(stepped.set.members[0].status, Some(Status::Aborted));
    assert_eq!(
        world.world.notifier.events(),
        ["rollout.started", "rollout.aborted"]
    );
}

#[tokio::test]
async fn a_throttled_member_does_not_stop_the_others_going_back() {
    let world = SetWorld::new(&FUNCTIONS);
    let set = started(&world).await;
    *world.alias("orders-audit").write_faults.lock().unwrap() = vec![Fault::Throttle; 4];
    world.world.alarms.set(AlarmState::Alarm);
    let stepped = step(&world, &set, 30).await;
    assert_eq!(stepped.set.status, Status::RolledBack);
    assert_eq!(world.standing(), vec![on("1"); 3]);
}

#[tokio::test]
async fn a_driver_that_died_between_two_members_writes_is_finished_by_the_replay() {
    let world = SetWorld::new(&FUNCTIONS);
    let set = started(&world).await;
    // The step to 100 % landed on the lead only, then the driver died.
    let home = world.world.driver();
    let sd = SetDriver {
        home: &home,
        places: &world,
    };
    let crew = sd.crew(&spec().members).await.ok().unwrap();
    let plan = set.validate().unwrap();
    let lead = set.member(0);
    crew.drivers[0]
        .carry_out(
            &lead,
            &plan,
            Vec::new(),
            None,
            Decision::Promote { step_index: 1 },
            t(301),
        )
        .await
        .unwrap();
    assert_eq!(world.standing(), vec![on("2"), split(0.1), split(0.1)]);
    let replayed = step(&world, &set, 302).await.set;
    assert_eq!(replayed.status, Status::Succeeded);
    assert_eq!(world.standing(), vec![on("2"); 3]);
}

#[tokio::test]
async fn a_member_whose_writes_are_refused_puts_every_other_back_and_is_named_as_split() {
    let mut world = SetWorld::new(&FUNCTIONS);
    let set = started(&world).await;
    world.members[1].1.fail_writes = true;
    let stepped = step(&world, &set, 301).await.set;
    assert_eq!(stepped.status, Status::Failed, "{:?}", stepped.reason);
    let reason = stepped.reason.as_deref().unwrap();
    assert!(
        reason.contains("still split: orders-worker:live (10% on version 2"),
        "{reason}"
    );
    assert!(
        reason.contains("members[1] orders-worker:live: its step could not be written"),
        "{reason}"
    );
    assert_eq!(world.standing()[1], split(0.1));
    assert_eq!(world.standing()[0], on("1"));
    assert_eq!(world.standing()[2], on("1"));
}

#[tokio::test]
async fn a_pause_on_the_lead_holds_every_member() {
    let world = SetWorld::new(&FUNCTIONS);
    let set = started(&world).await;
    {
        let mut alias = world.alias("orders-api").alias.lock().unwrap();
        let mut marker = alias.marker().unwrap();
        marker.control = Some(rollout_core::state::Control::Paused);
        marker.control_id = Some("o-20270115T080001000Z".into());
        alias.description = marker.render();
        alias.revision_id = "paused".into();
    }
    let paused = step(&world, &set, 30).await.set;
    assert_eq!(paused.control, Some(rollout_core::state::Control::Paused));
    let still = step(&world, &paused, 400).await.set;
    assert_eq!(still.step_index, 0);
    assert_eq!(world.standing(), vec![split(0.1); 3]);
}

#[tokio::test]
async fn a_promote_on_the_lead_ends_every_members_hold() {
    let world = SetWorld::new(&FUNCTIONS);
    let set = started(&world).await;
    {
        let mut alias = world.alias("orders-api").alias.lock().unwrap();
        let mut marker = alias.marker().unwrap();
        marker.control = Some(rollout_core::state::Control::Promoted);
        marker.control_id = Some("o-20270115T080001000Z".into());
        alias.description = marker.render();
        alias.revision_id = "promoted".into();
    }
    // Taken at a check a minute into the five-minute hold: the hold ends at once.
    let taken = step(&world, &set, 60).await.set;
    assert_eq!(taken.next_step_at, Some(t(60)), "{taken:?}");
    assert_eq!(taken.wait_seconds, 0);
    let promoted = step(&world, &taken, 61).await.set;
    assert_eq!(promoted.status, Status::Succeeded, "{:?}", promoted.reason);
    assert_eq!(world.standing(), vec![on("2"); 3]);
}

#[tokio::test]
async fn any_member_finds_the_whole_set_and_the_walk_goes_round_a_member_someone_changed() {
    let world = SetWorld::new(&FUNCTIONS);
    started(&world).await;
    let patience = crate::patience::Patience::default();
    let member = |i: usize| spec().with_regions(Some("us-east-1")).members[i].clone();
    let alias = |f: &str| world.alias(f).alias.lock().unwrap().clone();
    let found = ring::walk(&world, &patience, member(1), alias("orders-worker"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.name, "checkout");
    assert_eq!(found.rollout_id, RID);
    let names: Vec<String> = found.members.iter().map(|m| m.spec.label()).collect();
    assert_eq!(
        names,
        ["orders-api:live", "orders-worker:live", "orders-audit:live"]
    );
    assert!(found.missing().is_empty());
    assert_eq!(found.state().members[2].weight, 0.1);
    {
        let mut theirs = world.alias("orders-worker").alias.lock().unwrap();
        theirs.description = "hotfix".into();
        theirs.revision_id = "theirs".into();
    }
    // From the lead: forward stops at the worker, backward reaches the audit function.
    let found = ring::walk(&world, &patience, member(0), alias("orders-api"))
        .await
        .unwrap()
        .unwrap();
    let names: Vec<String> = found.members.iter().map(|m| m.spec.label()).collect();
    assert_eq!(names, ["orders-api:live", "orders-audit:live"]);
    assert_eq!(found.missing(), [1]);
    let alone = ring::walk(&world, &patience, member(1), alias("orders-worker"))
        .await
        .unwrap();
    assert!(
        alone.is_none(),
        "a member that is not the set's finds nothing"
    );
}

#[tokio::test]
async fn every_members_weight_goes_out_in_one_put() {
    let world = SetWorld::new(&FUNCTIONS);
    let set = started(&world).await;
    let puts = || *world.world.own_metrics.calls.lock().unwrap();
    assert_eq!(puts(), 1, "the start's weights at once");
    let points = world.world.own_metrics.points.lock().unwrap().clone();
    let functions: Vec<&str> = points.iter().map(|p| p.function.as_str()).collect();
    assert!(
        FUNCTIONS.iter().all(|f| functions.contains(f)),
        "{functions:?}"
    );
    // A check that moves nothing owes nothing and sends nothing.
    let held = step(&world, &set, 60).await.set;
    assert_eq!(puts(), 1);
    // The end: every member's final weight in one put, after the event.
    let promoted = step(&world, &held, 301).await.set;
    assert_eq!(promoted.status, Status::Succeeded);
    assert_eq!(puts(), 2);
    let points = world.world.own_metrics.points.lock().unwrap().clone();
    let last: Vec<f64> = points.iter().rev().take(3).map(|p| p.value).collect();
    assert_eq!(last, [100.0; 3]);
}

#[tokio::test]
async fn an_operators_word_on_any_member_is_written_on_the_lead_and_told_for_the_set() {
    let world = SetWorld::new(&FUNCTIONS);
    started(&world).await;
    let home = world.world.driver();
    let sd = SetDriver {
        home: &home,
        places: &world,
    };
    let audit = world.alias("orders-audit").alias.lock().unwrap().clone();
    let found = sd
        .found_from("orders-audit", "live", audit)
        .await
        .unwrap()
        .expect("a member");
    let pause = rollout_core::engine::control::Operator::Pause;
    let done = sd
        .control(&found, pause, "checkout looks slow", None, t(30))
        .await
        .unwrap();
    assert_eq!(done.function_name, "orders-api", "written on the lead");
    let lead = world
        .alias("orders-api")
        .alias
        .lock()
        .unwrap()
        .marker()
        .unwrap();
    assert_eq!(lead.control, Some(rollout_core::state::Control::Paused));
    let worker = world
        .alias("orders-worker")
        .alias
        .lock()
        .unwrap()
        .marker()
        .unwrap();
    assert_eq!(worker.control, None, "only the lead carries the set's word");
    let note = world.world.notifier.sent.lock().unwrap()[1].clone();
    assert_eq!(note.event, "rollout.paused");
    assert_eq!(note.set.as_deref(), Some("checkout"));
    assert!(
        note.event_id.ends_with(&done.control_id),
        "{}",
        note.event_id
    );
}

#[tokio::test]
async fn an_operators_word_is_refused_when_the_lead_is_no_longer_the_sets() {
    let world = SetWorld::new(&FUNCTIONS);
    started(&world).await;
    {
        let mut theirs = world.alias("orders-api").alias.lock().unwrap();
        theirs.description = "hotfix".into();
        theirs.revision_id = "theirs".into();
    }
    let home = world.world.driver();
    let sd = SetDriver {
        home: &home,
        places: &world,
    };
    let worker = world.alias("orders-worker").alias.lock().unwrap().clone();
    let found = sd
        .found_from("orders-worker", "live", worker)
        .await
        .unwrap()
        .expect("a member");
    let writes_before: u32 = world
        .members
        .iter()
        .map(|(_, a)| *a.writes.lock().unwrap())
        .sum();
    let pause = rollout_core::engine::control::Operator::Pause;
    let refused = sd.control(&found, pause, "why", None, t(30)).await;
    assert!(
        matches!(refused, Err(crate::driver::ControlError::Refused(ref why)) if why.0.contains("lead")),
        "{refused:?}"
    );
    let writes: u32 = world
        .members
        .iter()
        .map(|(_, a)| *a.writes.lock().unwrap())
        .sum();
    assert_eq!(writes, writes_before);
}

#[tokio::test]
async fn the_shifters_abort_of_any_member_puts_back_only_that_set() {
    let world = SetWorld::new(&FUNCTIONS);
    let set = started(&world).await;
    let home = world.world.driver();
    let abort = |rollout_id: &str| {
        crate::request::ShifterRequest::parse(json!({"action": "abort",
            "functionName": "orders-audit", "alias": "live", "rolloutId": rollout_id,
            "reason": "the state machine stopped"}))
        .unwrap()
    };
    let ready = ReadyWait::up_to(Duration::ZERO);
    // Another rollout's id: nothing to stop.
    let (answer, _) =
        crate::shifter::carry_out(&home, &world, abort("r-20270115T090000000Z"), t(5), &ready)
            .await
            .unwrap();
    assert_eq!(answer["status"], "NothingToStop", "{answer}");
    assert_eq!(world.standing(), vec![split(0.1); 3]);
    let (answer, warning) =
        crate::shifter::carry_out(&home, &world, abort(&set.rollout_id), t(5), &ready)
            .await
            .unwrap();
    assert_eq!(warning, None);
    assert_eq!(answer["set"], "checkout", "{answer}");
    assert_eq!(answer["status"], "Aborted", "{answer}");
    assert_eq!(world.standing(), vec![on("1"); 3]);
    let events = world.world.notifier.events();
    assert_eq!(events, ["rollout.started", "rollout.aborted"]);
}

#[tokio::test]
async fn a_member_in_flight_is_never_taken_up_alone_by_a_one_alias_start() {
    let world = SetWorld::new(&FUNCTIONS);
    started(&world).await;
    let driver = crate::driver::Driver {
        aliases: world.alias("orders-worker"),
        ..world.world.driver()
    };
    let spec = rollout_core::Spec::new("orders-worker", "live", "2", "Canary10Percent5Minutes");
    let refused = driver
        .start(&spec, RID.into(), t(10), &no_wait())
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("member of release set checkout"),
        "{refused}"
    );
    assert_eq!(world.standing(), vec![split(0.1); 3]);
}

#[tokio::test]
async fn a_first_write_refused_for_good_puts_back_the_members_that_landed() {
    let mut world = SetWorld::new(&FUNCTIONS);
    world.members[1].1.fail_writes = true;
    let home = world.world.driver();
    let sd = SetDriver {
        home: &home,
        places: &world,
    };
    let ended = sd
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap()
        .set;
    assert!(ended.status.is_terminal(), "{:?}", ended.status);
    assert!(
        ended
            .reason
            .as_deref()
            .unwrap()
            .contains("members[1] orders-worker:live"),
        "{:?}",
        ended.reason
    );
    // The others' first steps are undone; the refused member was never moved.
    assert_eq!(world.standing(), vec![on("1"); 3]);
}

#[tokio::test]
async fn a_members_own_alarm_firing_refuses_the_start_read_once_for_the_set() {
    let world = SetWorld::new(&FUNCTIONS);
    // The set's alarm, then the worker's own: one DescribeAlarms for the whole start.
    *world.world.alarms.script.lock().unwrap() =
        vec![Alarms::States(vec![AlarmState::Ok, AlarmState::Alarm])];
    let home = world.world.driver();
    let sd = SetDriver {
        home: &home,
        places: &world,
    };
    let refused = sd
        .start(&spec(), RID.into(), t(0), &no_wait())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("worker-dlq-depth"),
        "{refused}"
    );
    assert_eq!(*world.world.alarms.reads.lock().unwrap(), 1);
    assert_eq!(world.standing(), vec![on("1"); 3]);
}
