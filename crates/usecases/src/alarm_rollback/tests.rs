use super::*;

#[test]
fn reads_only_its_own_settings() {
    let get = |name: &str| match name {
        "SMOKE_TEST_EXPECT" => Some("{not json".to_string()),
        "BAKE_SECONDS" => Some("ten".to_string()),
        _ => None,
    };
    assert_eq!(
        AlarmRollbackSettings::from_lookup(&get).unwrap(),
        AlarmRollbackSettings::default()
    );
}

#[test]
fn parses_the_guards_tag() {
    assert_eq!(
        parse_guards_tag("orders:live, billing:prod,broken"),
        [
            ("orders".to_string(), Some("live".to_string())),
            ("billing".to_string(), Some("prod".to_string()))
        ]
    );
    // As a tag value can hold it: spaces.
    assert_eq!(
        parse_guards_tag("orders:live  billing:prod"),
        parse_guards_tag("orders:live,billing:prod")
    );
}

mod sets {
    use super::*;
    use crate::readiness::ReadyWait;
    use crate::set::SetDriver;
    use crate::testing::{t, SetWorld, RID};
    use rollout_core::set::{SetRollout, SetSpec};
    use rollout_core::Status;
    use serde_json::json;

    const FUNCTIONS: [&str; 3] = ["orders-api", "orders-worker", "orders-audit"];

    fn on(version: &str) -> (String, Option<(String, f64)>) {
        (version.into(), None)
    }

    /// `checkout`, started at 10 % on every member.
    async fn started(world: &SetWorld) -> SetRollout {
        let spec: SetSpec = serde_json::from_value(json!({"set": "checkout", "members": [
            {"functionName": "orders-api", "alias": "live", "targetVersion": "2"},
            {"functionName": "orders-worker", "alias": "live", "targetVersion": "2",
             "alarms": ["worker-dlq-depth"]},
            {"functionName": "orders-audit", "alias": "live", "targetVersion": "2"}],
            "strategy": "Canary10Percent5Minutes"}))
        .unwrap();
        let home = world.world.driver();
        let sd = SetDriver {
            home: &home,
            places: world,
        };
        let no_wait = ReadyWait::up_to(std::time::Duration::ZERO);
        let set = sd
            .start(&spec, RID.into(), t(0), &no_wait)
            .await
            .unwrap()
            .set;
        assert_eq!(set.status, Status::InProgress);
        set
    }

    /// The worker's own alarm, gone to ALARM, on `function`'s `live` alias.
    fn alarm_on(function: &str) -> AlarmChange {
        AlarmChange {
            alarm_name: "worker-dlq-depth".into(),
            alarm_arn: None,
            state: "ALARM".into(),
            reason: "Threshold Crossed".into(),
            dimensions: vec![(function.into(), Some("live".into()))],
        }
    }

    async fn guard(world: &SetWorld, change: AlarmChange) -> Result<AlarmRollbackReport, Failure> {
        world.world.alarms.set(AlarmState::Alarm);
        let driver = world.world.driver();
        roll_back_guarded(
            &driver,
            &world.world.aliases,
            &world.world.alarms,
            world,
            change,
            StopScope::OurRollouts,
            t(30),
        )
        .await
    }

    #[tokio::test]
    async fn an_alarm_on_one_member_puts_every_member_back_and_the_set_is_told_once() {
        let world = SetWorld::new(&FUNCTIONS);
        started(&world).await;
        let report = guard(&world, alarm_on("orders-worker")).await.unwrap();
        assert_eq!(world.standing(), vec![on("1"); 3]);
        let back: Vec<&str> = report
            .rolled_back
            .iter()
            .map(|s| s.function_name.as_str())
            .collect();
        assert_eq!(back, FUNCTIONS);
        assert_eq!(report.sets[0].set, "checkout");
        assert_eq!(
            world.world.notifier.events(),
            ["rollout.started", "rollout.rolled_back"]
        );
        let note = world.world.notifier.sent.lock().unwrap()[1].clone();
        assert_eq!(note.set.as_deref(), Some("checkout"));
        assert_eq!(note.members.len(), 3);
        assert_eq!(
            note.function_name, "orders-worker",
            "the member whose alarm fired"
        );
        assert_eq!(note.event_id, format!("{RID}/0/rollout.rolled_back"));
        let subject = note.subject();
        assert!(
            subject.starts_with(
                "checkout (3 functions) rolled back: members[1] orders-worker:live: alarm worker-dlq-depth"
            ),
            "{subject}"
        );
    }

    #[tokio::test]
    async fn an_alarm_guarding_two_members_of_one_set_puts_each_back_once_and_tells_once() {
        let world = SetWorld::new(&FUNCTIONS);
        started(&world).await;
        let mut change = alarm_on("orders-api");
        change
            .dimensions
            .push(("orders-audit".into(), Some("live".into())));
        let report = guard(&world, change).await.unwrap();
        assert_eq!(world.standing(), vec![on("1"); 3]);
        assert_eq!(report.rolled_back.len(), 3, "{report:?}");
        assert_eq!(report.sets.len(), 1);
        assert!(world
            .members
            .iter()
            .all(|(_, a)| *a.writes.lock().unwrap() == 2));
        assert_eq!(
            world.world.notifier.events(),
            ["rollout.started", "rollout.rolled_back"]
        );
    }

    #[tokio::test]
    async fn a_replayed_alarm_writes_nothing_and_tells_again_under_the_same_event_id() {
        let world = SetWorld::new(&FUNCTIONS);
        started(&world).await;
        guard(&world, alarm_on("orders-worker")).await.unwrap();
        let writes = |w: &SetWorld| -> Vec<u32> {
            w.members
                .iter()
                .map(|(_, a)| *a.writes.lock().unwrap())
                .collect()
        };
        let before = writes(&world);
        let again = guard(&world, alarm_on("orders-worker")).await.unwrap();
        assert_eq!(again.rolled_back.len(), 3, "{again:?}");
        assert_eq!(writes(&world), before);
        let sent = world.world.notifier.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[1].event_id, sent[2].event_id);
    }

    #[tokio::test]
    async fn a_member_someone_else_changed_is_left_alone_and_every_other_goes_back() {
        let world = SetWorld::new(&FUNCTIONS);
        started(&world).await;
        {
            let mut theirs = world.alias("orders-worker").alias.lock().unwrap();
            theirs.version = "3".into();
            theirs.routing = None;
            theirs.description = "hotfix".into();
            theirs.revision_id = "theirs".into();
        }
        // The alarm guards the lead: the walk goes round the worker the other way.
        let report = guard(&world, alarm_on("orders-api")).await.unwrap();
        assert_eq!(world.standing(), vec![on("1"), on("3"), on("1")]);
        assert_eq!(report.rolled_back.len(), 2);
        assert_eq!(report.left_alone, ["members[1] orders-worker:live"]);
        assert_eq!(
            world.world.notifier.events(),
            ["rollout.started", "rollout.rolled_back"]
        );
    }

    #[tokio::test]
    async fn a_member_whose_writes_are_refused_is_named_as_still_split_and_the_call_fails() {
        let mut world = SetWorld::new(&FUNCTIONS);
        started(&world).await;
        world.members[2].1.fail_writes = true;
        let failed = guard(&world, alarm_on("orders-worker")).await.unwrap_err();
        assert!(failed.message.contains("orders-audit:live"), "{failed:?}");
        assert_eq!(world.standing()[..2], [on("1"), on("1")]);
        assert_eq!(world.standing()[2], ("1".into(), Some(("2".into(), 0.1))));
        let note = world.world.notifier.sent.lock().unwrap()[1].clone();
        assert_eq!(note.event, "rollout.failed");
        let reason = note.reason.unwrap_or_default();
        assert!(
            reason.contains("still split: orders-audit:live (10% on version 2"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn an_alarm_after_the_set_was_promoted_leaves_every_member_alone() {
        let world = SetWorld::new(&FUNCTIONS);
        let set = started(&world).await;
        let home = world.world.driver();
        let sd = SetDriver {
            home: &home,
            places: &world,
        };
        let done = sd.step(&set, t(301)).await.unwrap().set;
        assert_eq!(done.status, Status::Succeeded);
        let report = guard(&world, alarm_on("orders-worker")).await.unwrap();
        assert!(report.rolled_back.is_empty(), "{report:?}");
        assert!(report.sets.is_empty());
        assert_eq!(world.standing(), vec![on("2"); 3]);
        assert_eq!(
            world.world.notifier.events(),
            ["rollout.started", "rollout.succeeded"]
        );
    }
}
