use super::*;
use serde_json::json;

use crate::testing::sample;

fn invalid_field(event: Value) -> InvalidField {
    ShifterRequest::parse(event).expect_err("invalid")
}

#[test]
fn the_sample_spec_starts_a_rollout() {
    let ShifterRequest::Start(spec) = ShifterRequest::parse(sample("spec.json")).unwrap() else {
        panic!("not a start")
    };
    assert_eq!(spec.target_version, "2");
    assert_eq!(spec.bake_time, Some(600));
}

#[test]
fn the_sample_state_takes_a_step() {
    let ShifterRequest::Step(rollout) = ShifterRequest::parse(sample("state.json")).unwrap() else {
        panic!("not a step")
    };
    assert_eq!((rollout.step_index, rollout.weight), (0, 0.1));
    let round_trip = serde_json::to_value(&*rollout).unwrap();
    assert_eq!(
        round_trip,
        sample("state.json"),
        "the state serializes exactly as documented"
    );
}

/// A rollout in flight across an upgrade: the weights an earlier version kept in the state
/// are accepted and dropped, never written back.
#[test]
fn a_state_an_earlier_version_wrote_with_owed_weights_still_steps() {
    let mut old = sample("state.json");
    old["unpublishedWeights"] = json!([{"weight": 0.1, "at": "2026-11-23T13:00:00Z"}]);
    let ShifterRequest::Step(rollout) = ShifterRequest::parse(old).unwrap() else {
        panic!("not a step")
    };
    assert_eq!(
        serde_json::to_value(&*rollout).unwrap(),
        sample("state.json")
    );
}

#[test]
fn the_sample_abort_is_an_abort() {
    let request = ShifterRequest::parse(sample("abort.json")).unwrap();
    assert!(matches!(request, ShifterRequest::Abort { ref alias, .. } if alias == "live"));
}

#[test]
fn a_missing_field_is_named() {
    let mut spec = sample("spec.json");
    spec.as_object_mut().unwrap().remove("alias");
    let err = invalid_field(spec);
    assert_eq!(err.field, "alias", "{err}");
}

#[test]
fn a_mistyped_field_is_named() {
    let mut spec = sample("spec.json");
    spec["alarms"] = json!("orders-api-errors");
    assert_eq!(invalid_field(spec).field, "alarms");
}

#[test]
fn an_unknown_field_is_refused_with_the_allowed_ones() {
    let mut spec = sample("spec.json");
    spec["alarm"] = json!(["typo"]);
    let err = invalid_field(spec);
    assert!(
        err.problem.contains("\"alarm\"") && err.problem.contains("alarms"),
        "{err}"
    );
}

#[test]
fn bad_values_are_refused_before_aws() {
    let cases = [
        ("targetVersion", json!("$LATEST")),
        ("strategy", json!("Canary100Percent5Minutes")),
        ("functionName", json!("")),
        ("alias", json!("1")),
        ("notificationTopicArn", json!("my-topic")),
        ("bakeTime", json!("5 fortnights")),
    ];
    for (field, value) in cases {
        let mut spec = sample("spec.json");
        spec[field] = value;
        assert_eq!(invalid_field(spec).field, field);
    }
}

#[test]
fn versions_may_be_numbers() {
    let mut spec = sample("spec.json");
    spec["targetVersion"] = json!(2);
    assert!(
        matches!(ShifterRequest::parse(spec), Ok(ShifterRequest::Start(s)) if s.target_version == "2")
    );
}

#[test]
fn an_unknown_action_is_refused() {
    assert_eq!(
        invalid_field(json!({"action": "pause", "functionName": "f", "alias": "a"})).field,
        "action"
    );
}

#[test]
fn not_an_object_is_refused() {
    assert_eq!(invalid_field(json!([1, 2])).field, "event");
}

#[test]
fn bake_time_is_bounded_as_a_number_too() {
    for bad in [
        json!(10_000_000_000_000u64),
        json!(u64::MAX),
        json!(-5),
        json!(true),
        json!("3d"),
    ] {
        let mut spec = sample("spec.json");
        spec["bakeTime"] = bad.clone();
        let err = invalid_field(spec);
        assert_eq!(err.field, "bakeTime", "{bad}: {err}");
        assert!(!err.problem.contains("untagged"), "{err}");
    }
}

#[test]
fn a_mistyped_progress_field_is_named_exactly() {
    let mut state = sample("state.json");
    state["aliasRevisionId"] = json!(5);
    assert_eq!(invalid_field(state).field, "aliasRevisionId");
    let mut spec = sample("spec.json");
    spec["targetVersion"] = json!(true);
    let err = invalid_field(spec);
    assert_eq!(err.field, "targetVersion");
    assert!(err.problem.contains("published version number"), "{err}");
}

#[test]
fn an_ended_state_without_a_current_version_is_accepted_back() {
    let mut state = sample("state.json");
    state["status"] = json!("Succeeded");
    state.as_object_mut().unwrap().remove("currentVersion");
    assert!(matches!(
        ShifterRequest::parse(state),
        Ok(ShifterRequest::Step(_))
    ));
}

#[test]
fn an_abort_may_name_the_target_version_it_stops() {
    let mut abort = sample("abort.json");
    abort["targetVersion"] = json!(2);
    let ShifterRequest::Abort { target_version, .. } = ShifterRequest::parse(abort).unwrap() else {
        panic!("not an abort")
    };
    assert_eq!(target_version.as_deref(), Some("2"));
}

#[test]
fn bad_analysis_is_refused_naming_the_field_inside_it() {
    let with = |analysis: Value| {
        let mut spec = sample("spec.json");
        spec["analysis"] = analysis;
        spec
    };
    for (analysis, field) in [
        (json!({"confidence": 1.5}), "analysis.confidence"),
        (json!({"maxErrorRate": -0.1}), "analysis.maxErrorRate"),
        (
            json!({"maxErrorRateIncrease": 2}),
            "analysis.maxErrorRateIncrease",
        ),
        (json!({"minInvocations": -5}), "analysis.minInvocations"),
        (json!({"confidance": 0.9}), "analysis"),
        (json!("yes"), "analysis"),
    ] {
        let e = invalid_field(with(analysis.clone()));
        assert_eq!(e.field, field, "{analysis}: {e}");
    }
    let ShifterRequest::Start(spec) = ShifterRequest::parse(with(json!({}))).unwrap() else {
        panic!("not a start")
    };
    assert_eq!(spec.analysis, Some(rollout_core::Analysis::default()));
}

#[tokio::test]
async fn a_set_state_the_shifter_answers_is_taken_back_as_its_next_step() {
    let world = crate::testing::World::new();
    let spec = json!({"set": "checkout", "members": [
        {"functionName": "orders", "alias": "live", "targetVersion": "2"}],
        "strategy": "Canary10Percent5Minutes", "alarms": ["orders-errors"],
        "notificationTopicArn": crate::testing::TOPIC, "bakeTime": "1m", "analysis": {}});
    let ShifterRequest::StartSet(set) = ShifterRequest::parse(spec).unwrap() else {
        panic!("a set spec starts a set");
    };
    let driver = world.driver();
    let sets = crate::set::SetDriver {
        home: &driver,
        places: &world,
    };
    let ready = crate::readiness::ReadyWait::up_to(std::time::Duration::ZERO);
    let started = sets
        .start(
            &set,
            crate::testing::RID.into(),
            crate::testing::t(0),
            &ready,
        )
        .await
        .unwrap()
        .set;
    let answer = serde_json::to_value(&started).unwrap();
    match ShifterRequest::parse(answer) {
        Ok(ShifterRequest::StepSet(back)) => assert_eq!(*back, started),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_set_names_the_member_and_field_at_fault() {
    let bad = |members: serde_json::Value| {
        ShifterRequest::parse(json!({"set": "checkout", "members": members,
            "strategy": "AllAtOnce"}))
        .unwrap_err()
        .field
    };
    assert_eq!(
        bad(
            json!([{"functionName": "a", "alias": "live", "targetVersion": "2"},
            {"functionName": "b", "alias": "live", "targetVersion": "x"}])
        ),
        "members[1].targetVersion"
    );
    assert_eq!(
        bad(
            json!([{"functionName": "a", "alias": "live", "targetVersion": "2", "fnctionName": "b"}])
        ),
        "members[0]"
    );
    assert_eq!(
        bad(json!([{"functionName": "a", "alias": "live"}])),
        "members[0].targetVersion"
    );
}
