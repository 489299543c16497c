//! A release set through the real state machine and the real shifter: the set spec in, the
//! set state carried from step to step, every member promoted or every member back.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};

use crate::{Rollouts, ALARM};

const MEMBERS: [&str; 3] = ["orders", "orders-worker", "orders-audit"];

/// The fixture's `orders` and two more functions like it.
async fn three() -> Rollouts {
    let r = Rollouts::new().await;
    for f in &MEMBERS[1..] {
        r.world.function_with_two_versions(f).await;
    }
    r
}

fn set(strategy: &str) -> Value {
    let members: Vec<Value> = MEMBERS
        .iter()
        .map(|f| json!({"functionName": f, "alias": "live", "targetVersion": "2"}))
        .collect();
    json!({"set": "checkout", "members": members, "strategy": strategy, "alarms": [ALARM]})
}

async fn versions(r: &Rollouts) -> Vec<(String, Option<(String, f64)>)> {
    let mut all = Vec::new();
    for f in MEMBERS {
        let alias = r.world.alias(f).await;
        all.push((alias.version, alias.routing));
    }
    all
}

#[tokio::test]
async fn a_set_is_promoted_through_the_state_machine() {
    let r = three().await;
    let ended = r.run(&set("50%:2s")).await;
    assert_eq!(
        ended.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        ended.error,
        ended.cause
    );
    assert_eq!(ended.output["set"], "checkout");
    assert_eq!(ended.output["status"], "Succeeded");
    assert_eq!(versions(&r).await, vec![("2".to_string(), None); 3]);
    assert_eq!(
        r.world.events().await,
        ["rollout.started", "rollout.succeeded"]
    );
}

#[tokio::test]
async fn a_breach_mid_hold_puts_every_member_back_and_fails_the_execution() {
    let r = three().await;
    let started = Instant::now();
    let execution = r.start(&set("25%:1h")).await;
    while !versions(&r)
        .await
        .iter()
        .all(|(_, routing)| routing.is_some())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first step never happened on every member"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    r.world.set_alarm(ALARM, StateValue::Alarm).await;
    let ended = r.finish(&execution, started).await;
    assert_eq!(ended.status, ExecutionStatus::Failed, "{:?}", ended.cause);
    assert_eq!(
        ended.error.as_deref(),
        Some("RolledBack"),
        "{:?}",
        ended.cause
    );
    assert_eq!(versions(&r).await, vec![("1".to_string(), None); 3]);
    assert_eq!(
        r.world.events().await,
        ["rollout.started", "rollout.rolled_back"]
    );
}

#[tokio::test]
async fn a_set_state_in_flight_that_the_shifter_refuses_puts_every_member_back() {
    let r = three().await;
    let (error, state) = r.world.invoke(crate::SHIFTER, &set("25%:1h")).await;
    assert_eq!(error, None, "{state}");
    assert!(versions(&r)
        .await
        .iter()
        .all(|(_, routing)| routing.is_some()));
    // Handed a set state whose member weight no longer fits its plan: InvalidInput.
    let mut tampered = state;
    tampered["members"][1]["weight"] = json!(0.3);
    let ended = r.run(&tampered).await;
    assert_eq!(ended.status, ExecutionStatus::Failed, "{:?}", ended.cause);
    assert_eq!(
        ended.error.as_deref(),
        Some("InvalidInput"),
        "{:?}",
        ended.cause
    );
    assert_eq!(
        ended.states(),
        [
            "Begin",
            "Start",
            "Step",
            "Invalid",
            "Abort",
            "AbortSet",
            "AbortSetToDefaultTopic",
            "Stopped"
        ]
    );
    assert_eq!(
        versions(&r).await,
        vec![("1".to_string(), None); 3],
        "never left split"
    );
    let notes = r.world.notifications().await;
    let events: Vec<_> = notes.iter().map(|n| n["event"].as_str()).collect();
    assert_eq!(
        events,
        [Some("rollout.started"), Some("rollout.aborted")],
        "{notes:?}"
    );
    assert_eq!(notes[1]["set"], "checkout");
}

#[tokio::test]
async fn alarm_rollback_puts_every_member_of_a_set_the_state_machine_holds_back() {
    let r = three().await;
    let topic = r.world.topic_arn.clone();
    r.world
        .deploy_binary(
            "rollout-alarm-rollback",
            "alarm-rollback",
            &[("NOTIFICATION_TOPIC_ARN", &topic)],
        )
        .await;
    r.world
        .alarm_on("worker-dlq", "orders-worker", "Throttles", None)
        .await;
    let mut spec = set("25%:1h");
    spec["members"][1]["alarms"] = json!(["worker-dlq"]);
    let started = Instant::now();
    let execution = r.start(&spec).await;
    while !versions(&r)
        .await
        .iter()
        .all(|(_, routing)| routing.is_some())
    {
        assert!(started.elapsed() < Duration::from_secs(30), "never split");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // No CLI watches: the state machine holds the set, the shifter between two calls.
    r.world.set_alarm("worker-dlq", StateValue::Alarm).await;
    let event = rollout_testkit::events::alarm_went_off(
        "worker-dlq",
        &r.world.alarm_arn("worker-dlq").await,
        json!({"FunctionName": "orders-worker", "Resource": "orders-worker:live"}),
    );
    let (error, report) = r.world.invoke("rollout-alarm-rollback", &event).await;
    assert_eq!(error, None, "{report}");
    assert_eq!(
        versions(&r).await,
        vec![("1".to_string(), None); 3],
        "every member back when the invocation returns"
    );
    let ended = r.finish(&execution, started).await;
    assert_eq!(ended.status, ExecutionStatus::Failed, "{:?}", ended.cause);
    assert_eq!(
        ended.error.as_deref(),
        Some("RolledBack"),
        "{:?}",
        ended.cause
    );
    let kept = rollout_testkit::fixture::kept(&r.world.notifications().await);
    let events: Vec<&str> = kept.iter().filter_map(|n| n["event"].as_str()).collect();
    assert_eq!(
        events,
        ["rollout.started", "rollout.rolled_back"],
        "{kept:?}"
    );
}
