use super::*;
use serde_json::json;

fn spec(members: serde_json::Value) -> SetSpec {
    serde_json::from_value(json!({"set": "checkout", "members": members,
        "strategy": "Canary10Percent5Minutes", "alarms": ["checkout-errors"]}))
    .unwrap()
}

fn three() -> SetSpec {
    spec(json!([
        {"functionName": "orders-api", "alias": "live", "targetVersion": "3"},
        {"functionName": "orders-worker", "alias": "live", "targetVersion": 7,
         "currentVersion": "6", "alarms": ["worker-dlq-depth"]},
        {"functionName": "arn:aws:lambda:eu-west-1:222222222222:function:orders-eu",
         "alias": "live", "targetVersion": "5",
         "roleArn": "arn:aws:iam::222222222222:role/rollout"}
    ]))
}

#[test]
fn the_design_documents_example_set_is_valid_and_follows_one_plan() {
    let plan = three().validate().unwrap();
    assert_eq!(plan.steps.len(), 2);
    let worker = three().member_spec(1);
    assert_eq!(
        worker.alarms,
        ["worker-dlq-depth"],
        "the set's alarms are read once"
    );
    assert_eq!(worker.strategy, "Canary10Percent5Minutes");
}

#[test]
fn a_bad_member_is_refused_by_its_own_field() {
    let bad = |member: serde_json::Value| {
        let mut members = json!([{"functionName": "a", "alias": "live", "targetVersion": "2"}]);
        members.as_array_mut().unwrap().push(member);
        spec(members).validate().unwrap_err()
    };
    let e = bad(
        json!({"functionName": "b", "alias": "live", "targetVersion": "2",
        "currentVersion": "2"}),
    );
    assert_eq!(e.field, "members[1].currentVersion", "{e}");
    let e = bad(json!({"functionName": "b c", "alias": "live", "targetVersion": "2"}));
    assert_eq!(e.field, "members[1].functionName", "{e}");
    let e = bad(
        json!({"functionName": "b", "alias": "live", "targetVersion": "2",
        "region": "Europe"}),
    );
    assert_eq!(e.field, "members[1].region", "{e}");
    let e = bad(
        json!({"functionName": "b", "alias": "live", "targetVersion": "2",
        "roleArn": "rollout"}),
    );
    assert_eq!(e.field, "members[1].roleArn", "{e}");
    let e = bad(json!({"functionName": "a", "alias": "live", "targetVersion": "3"}));
    assert_eq!(e.field, "members[1].alias", "{e}");
    assert!(e.problem.contains("already member 0"), "{e}");
    let e = bad(
        json!({"functionName": "arn:aws:lambda:eu-west-1:222222222222:function:b",
        "alias": "live", "targetVersion": "2", "region": "us-east-1"}),
    );
    assert_eq!(e.field, "members[1].region", "{e}");
}

#[test]
fn a_set_has_one_to_twenty_five_members_and_a_plain_name() {
    assert_eq!(spec(json!([])).validate().unwrap_err().field, "members");
    let many: Vec<_> = (0..26)
        .map(|i| json!({"functionName": format!("f{i}"), "alias": "live", "targetVersion": "2"}))
        .collect();
    assert_eq!(spec(json!(many)).validate().unwrap_err().field, "members");
    assert!(spec(json!(many[..25])).validate().is_ok());
    let mut named = three();
    named.set = "check out".into();
    assert_eq!(named.validate().unwrap_err().field, "set");
}

#[test]
fn every_member_names_its_neighbours_relative_to_itself() {
    let set = three();
    let api = set.link(0);
    assert_eq!((api.index, api.count), (0, 3));
    assert_eq!(api.next.as_ref().unwrap().render(), "orders-worker:live");
    assert_eq!(
        api.previous.as_ref().unwrap().render(),
        "orders-eu:live@eu-west-1!222222222222:role/rollout"
    );
    let eu = set.link(2);
    assert_eq!(eu.next.as_ref().unwrap().render(), "orders-api:live");
    assert!(set.link(0).next.unwrap().region.is_none());
}

#[test]
fn the_ring_survives_the_round_trip_through_every_members_marker() {
    let mut state = SetRollout::new(
        &three(),
        "r-20261207T210000123Z".into(),
        &["2".into(), "6".into(), "4".into()],
        DateTime::<Utc>::UNIX_EPOCH,
    );
    state.weight = 0.1;
    for i in 0..3 {
        state.members[i].weight = 0.1;
        let rollout = state.member(i);
        let text = Marker::of(&rollout).render();
        assert!(text.len() <= 256, "{text}");
        let read = Marker::parse(&text).unwrap();
        assert_eq!(read.set, rollout.set, "{text}");
        assert_eq!(read, Marker::of(&rollout));
    }
}

#[test]
fn a_set_whose_links_cannot_fit_a_description_is_refused_naming_the_member() {
    let long = |i: usize| {
        json!({"functionName": format!("arn:aws:lambda:eu-west-{i}:222222222222:function:{}", "f".repeat(60)),
        "alias": "a".repeat(100), "targetVersion": "2"})
    };
    let e = spec(json!([long(1), long(2), long(3)]))
        .validate()
        .unwrap_err();
    assert_eq!(e.field, "members[0].functionName", "{e}");
    assert!(e.problem.contains("256 characters"), "{e}");
}

#[test]
fn a_member_is_a_one_function_rollout_and_gives_its_progress_back() {
    let mut state = SetRollout::new(
        &three(),
        "r-20261207T210000123Z".into(),
        &["2".into(), "6".into(), "4".into()],
        DateTime::<Utc>::UNIX_EPOCH,
    );
    let mut worker = state.member(1);
    assert_eq!(worker.spec.current_version.as_deref(), Some("6"));
    assert_eq!(worker.set.as_ref().unwrap().index, 1);
    worker.alias_revision_id = "rev-2".into();
    worker.weight = 0.1;
    state.absorb(1, &worker);
    assert_eq!(state.member(1).alias_revision_id, "rev-2");
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(json["members"][1]["functionName"], "orders-worker");
    assert_eq!(json["members"][1]["aliasRevisionId"], "rev-2");
    let back: SetRollout = serde_json::from_value(json).unwrap();
    assert_eq!(back, state);
}

#[test]
fn a_crafted_set_state_is_refused_by_the_member_at_fault() {
    let mut state = SetRollout::new(
        &three(),
        "r-20261207T210000123Z".into(),
        &["2".into(), "6".into(), "4".into()],
        DateTime::<Utc>::UNIX_EPOCH,
    );
    state.weight = 0.1;
    for m in &mut state.members {
        m.weight = 0.1;
    }
    assert!(state.validate().is_ok());
    state.members[2].weight = 0.5;
    assert_eq!(state.validate().unwrap_err().field, "members[2].weight");
    state.members[2].weight = 0.1;
    state.rollout_id = "r-1 status=Succeeded".into();
    assert_eq!(state.validate().unwrap_err().field, "rolloutId");
}

#[test]
fn a_link_that_does_not_read_makes_the_marker_untrusted() {
    let base = "lambda-rollout id=r-20261207T210000123Z from=2 to=3 step=0 w=10 status=InProgress";
    assert!(Marker::parse(&format!("{base} set=checkout:0/1")).is_some());
    for bad in [
        "set=checkout:3/3 nx=a:live pv=b:live",
        "set=checkout:0/3 nx=a:live",
        "set=checkout:0/3 nx=a pv=b:live",
        "set=check%20out:0/1",
        "set=checkout:0/30",
    ] {
        assert!(Marker::parse(&format!("{base} {bad}")).is_none(), "{bad}");
    }
}

#[test]
fn a_set_state_with_every_shared_field_is_read_back() {
    let mut spec = three();
    spec.shared.notification_topic_arn = Some("arn:aws:sns:us-east-1:123456789012:t".into());
    spec.shared.bake_time = Some(60);
    spec.shared.analysis = Some(Analysis::default());
    let state = SetRollout::new(
        &spec,
        "r-20261207T210000123Z".into(),
        &["2".into(), "6".into(), "4".into()],
        DateTime::<Utc>::UNIX_EPOCH,
    );
    let names = SetRollout::field_names();
    let json = serde_json::to_value(&state).unwrap();
    for key in json.as_object().unwrap().keys() {
        assert!(names.contains(key), "{key} is not in {names:?}");
    }
    for shared in [
        "alarms",
        "notificationTopicArn",
        "bakeTime",
        "analysis",
        "strategy",
    ] {
        assert!(names.iter().any(|n| n == shared), "{shared}");
    }
}
