//! The engine with a canary judgement: a fail is a breach, too few calls hold the step.

use super::*;
use crate::judgement::{Analysis, Judgement, OnInsufficientData, Verdict, VersionMetrics};

fn judged(strategy: &str, analysis: Analysis) -> (Rollout, Plan) {
    let mut spec = spec(strategy);
    spec.analysis = Some(analysis);
    let plan = spec.validate().unwrap();
    let mut rollout = Rollout::started(&spec, &plan, RID.into(), "6".into(), false, t(0));
    rollout.alias_revision_id = "r1".into();
    (rollout, plan)
}

fn counted(rollout: &Rollout, target: (u64, u64), current: (u64, u64), now: i64) -> Judgement {
    let m = |version: &str, (invocations, errors): (u64, u64)| VersionMetrics {
        version: version.into(),
        invocations,
        errors,
        p99_ms: None,
    };
    let analysis = rollout.spec.analysis.clone().unwrap();
    Judgement::of(rollout, &analysis, m("7", target), m("6", current), t(now))
}

#[test]
fn a_step_applied_records_when_its_window_starts() {
    let (rollout, plan) = judged("Linear10PercentEvery1Minute", Analysis::default());
    assert_eq!(rollout.step_started_at, Some(t(0)));
    let next = rollout.after(
        &Decision::Shift {
            step_index: 1,
            weight: 0.2,
        },
        &plan,
        t(61),
    );
    assert_eq!(next.step_started_at, Some(t(61)));
    let j = counted(&next, (10, 0), (90, 0), 90);
    assert_eq!(
        (j.window.start.as_str(), j.window.end.as_str()),
        ("2027-01-15T08:01:01Z", "2027-01-15T08:01:30Z")
    );
}

#[test]
fn a_failed_judgement_rolls_back_mid_hold_with_the_numbers() {
    let (rollout, plan) = judged("Canary10Percent5Minutes", Analysis::default());
    let j = counted(&rollout, (100, 30), (900, 9), 60);
    assert_eq!(j.verdict, Verdict::Fail);
    let Decision::RollBack { reason } = decide(&rollout, &plan, &ok(), Some(&j), t(60)) else {
        panic!("a fail must roll back")
    };
    assert!(
        reason.starts_with("canary judgement failed: v7 failed 30 of 100 calls (30%)"),
        "{reason}"
    );
    let back = rollout.after_judged(
        &Decision::RollBack { reason },
        &plan,
        Some(j.clone()),
        t(60),
    );
    assert_eq!(
        (back.status, back.last_judgement),
        (Status::RolledBack, Some(j))
    );
}

#[test]
fn a_pass_advances_only_when_the_step_is_due() {
    let (rollout, plan) = judged("Canary10Percent5Minutes", Analysis::default());
    let early = counted(&rollout, (500, 0), (4500, 2), 100);
    assert_eq!(early.verdict, Verdict::Pass);
    assert_eq!(
        decide(&rollout, &plan, &ok(), Some(&early), t(100)),
        Decision::Wait { seconds: 200 }
    );
    let due = counted(&rollout, (1000, 0), (9000, 4), 300);
    assert_eq!(
        decide(&rollout, &plan, &ok(), Some(&due), t(300)),
        Decision::Promote { step_index: 1 }
    );
}

#[test]
fn too_few_calls_extend_the_hold_then_roll_back() {
    let (rollout, plan) = judged("Canary10Percent5Minutes", Analysis::default());
    let quiet = |now| counted(&rollout, (3, 0), (40, 0), now);
    let extend = decide(&rollout, &plan, &ok(), Some(&quiet(300)), t(300));
    assert_eq!(
        extend,
        Decision::Wait {
            seconds: CHECK_INTERVAL_SECONDS
        }
    );
    let held = rollout.after_judged(&extend, &plan, Some(quiet(300)), t(300));
    assert_eq!(
        (held.step_index, held.wait_seconds),
        (0, CHECK_INTERVAL_SECONDS)
    );
    assert_eq!(held.last_judgement.unwrap().verdict, Verdict::Insufficient);
    assert_eq!(
        decide(&rollout, &plan, &ok(), Some(&quiet(2090)), t(2090)),
        Decision::Wait { seconds: 10 },
        "waitSeconds never overshoots the extension"
    );
    let Decision::RollBack { reason } = decide(&rollout, &plan, &ok(), Some(&quiet(2100)), t(2100))
    else {
        panic!("the extension is over")
    };
    assert!(
        reason.contains("after extending the hold by 30m"),
        "{reason}"
    );
    assert!(reason.contains("v7 failed 0 of 3 calls"), "{reason}");
}

#[test]
fn unreadable_metrics_count_as_too_few_calls_never_as_a_pass() {
    let analysis = Analysis {
        on_insufficient_data: OnInsufficientData::Fail,
        ..Analysis::default()
    };
    let (rollout, plan) = judged("Canary10Percent5Minutes", analysis);
    let lost = Judgement::unreadable(&rollout, "throttled", t(300));
    let Decision::RollBack { reason } = decide(&rollout, &plan, &ok(), Some(&lost), t(300)) else {
        panic!("fail on insufficient data")
    };
    assert!(reason.contains("could not be read (throttled)"), "{reason}");
    assert!(matches!(
        decide(&rollout, &plan, &ok(), None, t(300)),
        Decision::RollBack { .. }
    ));
}

#[test]
fn on_insufficient_data_pass_advances_untested() {
    let analysis = Analysis {
        on_insufficient_data: OnInsufficientData::Pass,
        ..Analysis::default()
    };
    let (rollout, plan) = judged("Canary10Percent5Minutes", analysis);
    let none = counted(&rollout, (0, 0), (0, 0), 300);
    assert_eq!(
        decide(&rollout, &plan, &ok(), Some(&none), t(300)),
        Decision::Promote { step_index: 1 }
    );
}

#[test]
fn the_bake_at_full_traffic_is_not_extended_but_still_rolls_back_on_a_fail() {
    let mut spec = spec("Canary10Percent5Minutes");
    spec.bake_time = Some(600);
    spec.analysis = Some(Analysis::default());
    let plan = spec.validate().unwrap();
    let rollout = Rollout::started(&spec, &plan, RID.into(), "6".into(), false, t(0));
    let baking = rollout.after(&Decision::Promote { step_index: 1 }, &plan, t(300));
    let quiet = counted(&baking, (2, 0), (0, 0), 900);
    assert_eq!(
        decide(&baking, &plan, &ok(), Some(&quiet), t(900)),
        Decision::Complete
    );
    let bad = counted(&baking, (200, 40), (0, 0), 600);
    assert!(matches!(
        decide(&baking, &plan, &ok(), Some(&bad), t(600)),
        Decision::RollBack { .. }
    ));
}

#[test]
fn a_judgement_is_ignored_when_the_spec_has_no_analysis() {
    let (rollout, plan) = started("Canary10Percent5Minutes");
    let (judged_rollout, _) = judged("Canary10Percent5Minutes", Analysis::default());
    let bad = counted(&judged_rollout, (100, 90), (900, 0), 60);
    assert_eq!(
        decide(&rollout, &plan, &ok(), Some(&bad), t(60)),
        Decision::Wait { seconds: 240 }
    );
}

proptest! {
    /// More errors of the new version never advance a step where fewer rolled it back.
    #[test]
    fn more_errors_never_advance_where_fewer_rolled_back(
        calls in 0u64..3000,
        errors in 0u64..3000,
        extra in 0u64..500,
        current in 0u64..3000,
        current_errors in 0u64..300,
        now in 0i64..4000,
    ) {
        let (rollout, plan) = judged("Canary10Percent5Minutes", Analysis::default());
        let fewer = counted(&rollout, (calls, errors.min(calls)), (current, current_errors.min(current)), now);
        let more = counted(&rollout, (calls, (errors + extra).min(calls)), (current, current_errors.min(current)), now);
        let back = |j: &Judgement| matches!(
            decide(&rollout, &plan, &ok(), Some(j), t(now)),
            Decision::RollBack { .. }
        );
        let advances = |j: &Judgement| matches!(
            decide(&rollout, &plan, &ok(), Some(j), t(now)),
            Decision::Promote { .. } | Decision::Shift { .. }
        );
        if back(&fewer) {
            prop_assert!(!advances(&more));
        }
    }

    /// Whatever the counts and the clock, a step never advances before it is due, and a
    /// judged step advances only on a pass (the default fails closed).
    #[test]
    fn a_judged_step_advances_only_when_due_and_passed(
        calls in 0u64..2000,
        errors in 0u64..200,
        now in 0i64..4000,
    ) {
        let (rollout, plan) = judged("Canary10Percent5Minutes", Analysis::default());
        let j = counted(&rollout, (calls, errors.min(calls)), (5000, 10), now);
        let decision = decide(&rollout, &plan, &ok(), Some(&j), t(now));
        if matches!(decision, Decision::Promote { .. } | Decision::Shift { .. }) {
            prop_assert!(now >= 300);
            prop_assert_eq!(j.verdict, Verdict::Pass);
        }
    }
}
