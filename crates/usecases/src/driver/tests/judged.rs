//! The driver with a canary judgement: metrics read once per step, the evidence kept in the
//! state and the alert, unreadable metrics never taken for a pass.

use super::*;
use rollout_core::{Analysis, Verdict};

fn judged_spec() -> Spec {
    spec().analysis(Analysis::default())
}

async fn started(world: &World) -> Rollout {
    world
        .driver()
        .start(&judged_spec(), RID.into(), t(0), &super::no_wait())
        .await
        .unwrap()
        .rollout
}

#[tokio::test]
async fn a_failing_canary_is_rolled_back_with_its_numbers_while_the_alarms_stay_ok() {
    let world = World::new();
    let rollout = started(&world).await;
    world.metrics.set((100, 30, None), (900, 9, None));
    let stepped = world.driver().step(&rollout, t(60)).await.unwrap();
    let back = stepped.rollout;
    assert_eq!(back.status, Status::RolledBack);
    let reason = back.reason.clone().unwrap();
    assert!(
        reason.contains("v2 failed 30 of 100 calls (30%) vs v1 9 of 900 (1%)"),
        "{reason}"
    );
    assert_eq!(back.last_judgement.as_ref().unwrap().verdict, Verdict::Fail);
    assert_eq!(world.aliases.now().routing, None);
    let sent = world.notifier.sent.lock().unwrap();
    let alert = sent
        .iter()
        .find(|n| n.event == "rollout.rolled_back")
        .unwrap();
    assert_eq!(alert.last_judgement, back.last_judgement);
}

#[tokio::test]
async fn each_step_reads_the_metrics_once_for_the_steps_own_window() {
    let world = World::new();
    let rollout = started(&world).await;
    world
        .metrics
        .set((2000, 1, Some(40.0)), (18000, 10, Some(38.0)));
    let held = world.driver().step(&rollout, t(30)).await.unwrap().rollout;
    assert_eq!(*world.metrics.reads.lock().unwrap(), 1);
    assert_eq!(held.last_judgement.unwrap().verdict, Verdict::Pass);
    let query = world.metrics.queries.lock().unwrap()[0].clone();
    assert_eq!(
        (
            query.function.as_str(),
            query.alias.as_str(),
            query.target.as_str(),
            query.current.as_str()
        ),
        ("orders", "live", "2", "1")
    );
    assert_eq!((query.start, query.end), (t(0), t(30)));
}

#[tokio::test]
async fn a_canary_without_calls_holds_its_step_past_the_hold() {
    let world = World::new();
    let rollout = started(&world).await;
    let due = rollout.next_step_at.unwrap();
    let held = world.driver().step(&rollout, due).await.unwrap().rollout;
    assert_eq!((held.status, held.step_index), (Status::InProgress, 0));
    assert_eq!(held.last_judgement.unwrap().verdict, Verdict::Insufficient);
    assert!(held.wait_seconds > 0);
}

#[tokio::test(start_paused = true)]
async fn metrics_that_cannot_be_read_never_let_a_step_advance() {
    let world = World::new();
    let rollout = started(&world).await;
    world.metrics.fail(false);
    let due = rollout.next_step_at.unwrap();
    let held = world.driver().step(&rollout, due).await.unwrap().rollout;
    assert_eq!(held.step_index, 0);
    let j = held.last_judgement.unwrap();
    assert_eq!(j.verdict, Verdict::Insufficient);
    assert!(j.reason.contains("could not be read"), "{}", j.reason);
}

#[tokio::test]
async fn a_spec_without_analysis_reads_no_metrics() {
    let world = World::new();
    let rollout = world
        .driver()
        .start(&spec(), RID.into(), t(0), &super::no_wait())
        .await
        .unwrap()
        .rollout;
    world.driver().step(&rollout, t(30)).await.unwrap();
    assert_eq!(*world.metrics.reads.lock().unwrap(), 0);
}
