//! An operator's pause, resume and promote: what the alias's marker becomes, how every driver
//! adopts it (never as someone else's change), and what still rolls back while paused.

use super::*;
use crate::engine::control::{control, records, ControlWrite, Operator};
use crate::state::Control;

/// The alias after an operator's `op` on what `rollout` left, with the new revision.
fn operated(rollout: &Rollout, op: Operator, revision: &str) -> AliasState {
    let ControlWrite::Write(_, update) = control(
        &alias_of(rollout, "r1"),
        op,
        "rollout-cli",
        "looking into p99",
        OPID,
    )
    .unwrap() else {
        panic!("nothing to write")
    };
    let mut a = alias_of(rollout, revision);
    a.description = update.description;
    a
}

const OPID: &str = "o-20270115T080010000Z";

fn adopted(rollout: &Rollout, plan: &Plan, alias: &AliasState, now: DateTime<Utc>) -> Rollout {
    let check = reconcile(rollout, plan, alias);
    let AliasCheck::Controlled(marker) = check else {
        panic!("not adopted: {check:?}")
    };
    rollout.controlled(&marker, alias, now)
}

#[test]
fn a_pause_changes_only_the_marker_and_is_adopted_not_interference() {
    let (rollout, plan) = started("Linear10PercentEvery1Minute");
    let paused_alias = operated(&rollout, Operator::Pause, "r2");
    assert_eq!(paused_alias.routing, Some(("7".into(), 0.1)));
    let paused = adopted(&rollout, &plan, &paused_alias, t(10));
    assert_eq!(paused.control, Some(Control::Paused));
    assert_eq!(paused.alias_revision_id, "r2");
    assert_eq!((paused.step_index, paused.weight), (0, 0.1));
    // From then on the alias is its own again.
    assert_eq!(reconcile(&paused, &plan, &paused_alias), AliasCheck::Ours);
}

#[test]
fn anything_beyond_the_marker_is_still_interference() {
    let (rollout, plan) = started("Linear10PercentEvery1Minute");
    // Our marker, paused, but someone also moved the weight.
    let mut moved = operated(&rollout, Operator::Pause, "r2");
    moved.routing = Some(("7".into(), 0.5));
    assert!(matches!(
        reconcile(&rollout, &plan, &moved),
        AliasCheck::ChangedByOthers(_)
    ));
    // Another rollout's paused marker on the same versions and routing.
    let mut other = operated(&rollout, Operator::Pause, "r2");
    other.description = other.description.replace(RID, "r-20270115T090000000Z");
    assert!(matches!(
        reconcile(&rollout, &plan, &other),
        AliasCheck::ChangedByOthers(_)
    ));
    // A marker edited by hand to an operator word we do not know is not ours.
    let mut edited = operated(&rollout, Operator::Pause, "r2");
    edited.description = edited.description.replace("op=paused", "op=frozen");
    assert!(matches!(
        reconcile(&rollout, &plan, &edited),
        AliasCheck::ChangedByOthers(_)
    ));
}

#[test]
fn while_paused_no_step_advances_but_a_breach_still_rolls_back() {
    let (rollout, plan) = started("Linear10PercentEvery1Minute");
    let paused = adopted(
        &rollout,
        &plan,
        &operated(&rollout, Operator::Pause, "r2"),
        t(10),
    );
    // Long past the hold: still waiting, asked again within the check interval.
    let decision = decide(&paused, &plan, &ok(), None, t(600));
    assert_eq!(
        decision,
        Decision::Wait {
            seconds: CHECK_INTERVAL_SECONDS
        }
    );
    assert_eq!(
        paused.after(&decision, &plan, t(600)).wait_seconds,
        CHECK_INTERVAL_SECONDS
    );
    assert!(matches!(
        decide(&paused, &plan, &firing(), None, t(600)),
        Decision::RollBack { .. }
    ));
    // A replay of the paused alias asks again within the interval, never in a tight loop.
    assert_eq!(paused.wait_seconds, CHECK_INTERVAL_SECONDS);
}

#[test]
fn a_resume_lets_the_step_advance_when_its_hold_is_over() {
    let (rollout, plan) = started("Linear10PercentEvery1Minute");
    let paused = adopted(
        &rollout,
        &plan,
        &operated(&rollout, Operator::Pause, "r2"),
        t(10),
    );
    let resumed_alias = operated(&paused, Operator::Resume, "r3");
    // The pause and its resume may both come between two checks: adopted either way.
    for before in [&rollout, &paused] {
        let resumed = adopted(before, &plan, &resumed_alias, t(100));
        assert_eq!(resumed.control, Some(Control::Resumed));
        let shift = decide(&resumed, &plan, &ok(), None, t(100));
        assert_eq!(
            shift,
            Decision::Shift {
                step_index: 1,
                weight: 0.2
            }
        );
        let shifted = resumed.after(&shift, &plan, t(100));
        assert_eq!(shifted.control, None);
        assert_eq!(Marker::of(&shifted).control, None);
    }
}

#[test]
fn a_promote_ends_the_hold_now_and_is_taken_once() {
    let (rollout, plan) = started("10%:1h,50%:1h");
    let promoted = adopted(
        &rollout,
        &plan,
        &operated(&rollout, Operator::Promote { full: false }, "r2"),
        t(30),
    );
    assert_eq!(promoted.next_step_at, Some(t(30)));
    assert_eq!(promoted.wait_seconds, 0);
    let decision = decide(&promoted, &plan, &ok(), None, t(31));
    assert_eq!(
        decision,
        Decision::Shift {
            step_index: 1,
            weight: 0.5
        }
    );
    // The next step holds its full hour: the promote was taken.
    let next = promoted.after(&decision, &plan, t(31));
    assert_eq!(
        (next.control, next.next_step_at),
        (None, Some(t(31 + 3600)))
    );
}

#[test]
fn a_full_promote_goes_to_100_percent_and_keeps_the_bake() {
    let mut spec = spec("Linear10PercentEvery10Minutes");
    spec.bake_time = Some(300);
    let plan = spec.validate().unwrap();
    let mut rollout = Rollout::started(&spec, &plan, RID.into(), "6".into(), false, t(0));
    rollout.alias_revision_id = "r1".into();
    let full = adopted(
        &rollout,
        &plan,
        &operated(&rollout, Operator::Promote { full: true }, "r2"),
        t(30),
    );
    let decision = decide(&full, &plan, &ok(), None, t(31));
    assert_eq!(
        decision,
        Decision::Promote {
            step_index: plan.last_index()
        }
    );
    let baking = full.after(&decision, &plan, t(31));
    assert_eq!(baking.status, Status::InProgress);
    assert_eq!((baking.weight, baking.next_step_at), (1.0, Some(t(331))));
}

#[test]
fn a_promote_also_lifts_a_pause() {
    let (rollout, plan) = started("10%:1h,50%:1h");
    let paused = adopted(
        &rollout,
        &plan,
        &operated(&rollout, Operator::Pause, "r2"),
        t(10),
    );
    let promoted = adopted(
        &paused,
        &plan,
        &operated(&paused, Operator::Promote { full: false }, "r3"),
        t(20),
    );
    assert!(matches!(
        decide(&promoted, &plan, &ok(), None, t(21)),
        Decision::Shift { step_index: 1, .. }
    ));
}

#[test]
fn requests_that_would_change_nothing_are_refused_with_the_reason() {
    let (rollout, _) = started("10%:1h,50%:1h");
    let running = alias_of(&rollout, "r1");
    let paused = operated(&rollout, Operator::Pause, "r2");
    let refused = |alias: &AliasState, op| {
        control(alias, op, "rollout-cli", "why", OPID)
            .unwrap_err()
            .0
    };
    assert!(refused(&paused, Operator::Pause)
        .contains("already paused (by rollout-cli: looking into p99)"));
    assert!(refused(&running, Operator::Resume).contains("is not paused"));
    let promoted = operated(&rollout, Operator::Promote { full: false }, "r2");
    assert!(refused(&promoted, Operator::Promote { full: false }).contains("already promoted"));
    // A plain promote may still become a full one.
    assert!(control(
        &promoted,
        Operator::Promote { full: true },
        "rollout-cli",
        "now",
        OPID,
    )
    .is_ok());
    // No rollout of ours, a stale marker, an ended rollout, the bake.
    assert!(refused(&alias("6", None, "r0"), Operator::Pause)
        .contains("carries no lambda-rollout rollout"));
    let mut stale = running.clone();
    stale.routing = Some(("7".into(), 0.5));
    assert!(refused(&stale, Operator::Pause).contains("no longer matches"));
    let mut ended = rollout.clone();
    ended.end(Status::RolledBack, "alarm".into());
    ended.weight = 0.0;
    let mut ended_alias = alias("6", None, "r3");
    ended_alias.description = Marker::of(&ended).render();
    assert!(refused(&ended_alias, Operator::Promote { full: false })
        .contains("already ended (RolledBack)"));
    let mut baking = rollout.clone();
    baking.step_index = 2;
    baking.weight = 1.0;
    assert!(
        refused(&alias_of(&baking, "r4"), Operator::Promote { full: true })
            .contains("does not skip the bake")
    );
}

#[test]
fn a_promote_taken_while_weights_are_allocated_ends_the_hold_once_they_are_ready() {
    let (rollout, plan) = started_provisioned("10%:1h,50%:1h");
    assert_eq!(
        rollout.provisioned_concurrency,
        Some(Provisioning::Allocating)
    );
    let deadline = rollout.next_step_at;
    let promoted = adopted(
        &rollout,
        &plan,
        &operated(&rollout, Operator::Promote { full: false }, "r2"),
        t(5),
    );
    // The allocation's own deadline is kept: a promote never makes it look overdue.
    assert_eq!(promoted.next_step_at, deadline);
    let ready = promoted.after(&Decision::StartHold, &plan, t(20));
    assert_eq!(ready.next_step_at, Some(t(20)));
}

/// A hand edit that keeps this rollout's id, step, versions and routing looks like an
/// operator's word; only that word is taken from it, never its `next=`: dropping `next=`
/// by hand does not end the hold.
#[test]
fn only_the_operators_word_is_taken_from_the_marker_never_its_time() {
    let (rollout, plan) = started("Canary10Percent30Minutes");
    let due = rollout.next_step_at;
    let mut edited = Marker::of(&rollout);
    edited.control = Some(Control::Resumed);
    edited.next_step_at = None;
    let mut alias = alias_of(&rollout, "r2");
    alias.description = edited.render();
    let taken = adopted(&rollout, &plan, &alias, t(60));
    assert_eq!(taken.next_step_at, due, "the hold still ends when it did");
    assert_eq!(taken.alias_revision_id, "r2");
    assert!(taken.wait_seconds > 0 && taken.wait_seconds <= 60);
}

/// A long pause with a judged rollout: at the resume, too few calls extend the hold from
/// then; the time paused is not taken out of `maxExtension` (a pause is not a failed canary).
#[test]
fn a_long_pause_does_not_spend_the_canarys_extension() {
    use crate::judgement::{Analysis, Judgement, VersionMetrics};
    let mut spec = spec("Canary10Percent5Minutes");
    spec.analysis = Some(Analysis::default());
    let plan = spec.validate().unwrap();
    let mut rollout = Rollout::started(&spec, &plan, RID.into(), "6".into(), false, t(0));
    rollout.alias_revision_id = "r1".into();
    let paused = adopted(
        &rollout,
        &plan,
        &operated(&rollout, Operator::Pause, "r2"),
        t(10),
    );
    // Resumed 40 minutes later, past the 5-minute hold and the 30-minute extension.
    let resumed = adopted(
        &paused,
        &plan,
        &operated(&paused, Operator::Resume, "r3"),
        t(2400),
    );
    let few = |version: &str, invocations| VersionMetrics {
        version: version.into(),
        invocations,
        errors: 0,
        p99_ms: None,
    };
    let analysis = Analysis::default();
    let quiet = Judgement::of(&resumed, &analysis, few("7", 3), few("6", 40), t(2400));
    let decision = decide(&resumed, &plan, &ok(), Some(&quiet), t(2400));
    assert!(
        matches!(decision, Decision::Wait { .. }),
        "extends from the resume, not rolled back: {decision:?}"
    );
}

#[test]
fn a_retry_of_the_same_request_is_recognised_and_writes_nothing() {
    let (rollout, _) = started("10%:1h,50%:1h");
    let paused = operated(&rollout, Operator::Pause, "r2");
    let again = control(
        &paused,
        Operator::Pause,
        "rollout-cli",
        "looking into p99",
        "o-20270115T080020000Z",
    );
    let Ok(ControlWrite::AlreadyRecorded(marker)) = again else {
        panic!("{again:?}")
    };
    assert_eq!(
        marker.control_id.as_deref(),
        Some(OPID),
        "the first request's id"
    );
    // Another reason is another request: refused as before.
    let other = control(
        &paused,
        Operator::Pause,
        "rollout-cli",
        "lunch",
        "o-20270115T080020000Z",
    );
    assert!(other.is_err(), "{other:?}");
}

#[test]
fn an_operator_request_stays_recognisable_after_the_driver_took_it_and_moved_on() {
    let (rollout, plan) = started("10%:1h,50%:1h");
    let promoted_alias = operated(&rollout, Operator::Promote { full: false }, "r2");
    assert!(records(&promoted_alias, OPID).is_some());
    let promoted = adopted(&rollout, &plan, &promoted_alias, t(10));
    assert_eq!(promoted.control_id.as_deref(), Some(OPID));
    // The driver takes the promote: the next step, its own write, without `op=`.
    let decision = decide(&promoted, &plan, &ok(), None, t(10));
    let shifted = promoted.after(&decision, &plan, t(10));
    assert_eq!((shifted.step_index, shifted.control), (1, None));
    let shifted_alias = alias_of(&shifted, "r3");
    let marker = records(&shifted_alias, OPID).expect("the request's id is kept");
    assert_eq!((marker.step_index, marker.control), (1, None));
    assert!(records(&shifted_alias, "o-20270115T080020000Z").is_none());
    // A marker that no longer describes the alias proves nothing.
    let mut moved = shifted_alias.clone();
    moved.routing = Some(("7".into(), 0.9));
    assert!(records(&moved, OPID).is_none());
}

#[test]
fn a_hand_edit_that_moves_next_into_the_past_never_ends_a_hold() {
    let (rollout, plan) = started("10%:1h,50%:1h");
    let mut edited = alias_of(&rollout, "r2");
    let mut marker = Marker::of(&rollout);
    marker.next_step_at = Some(t(1));
    edited.description = marker.render();
    let check = reconcile(&rollout, &plan, &edited);
    let AliasCheck::Replayed(m) = check else {
        panic!("{check:?}")
    };
    let replayed = rollout.replayed(&m, &plan, &edited, t(60));
    assert_eq!(
        replayed.next_step_at,
        Some(t(3600)),
        "the state's hold stands"
    );
    assert!(matches!(
        decide(&replayed, &plan, &ok(), None, t(60)),
        Decision::Wait { .. }
    ));
}

#[test]
fn a_marker_without_next_never_leaves_a_state_in_progress_without_one() {
    let (rollout, plan) = started("10%:1h,50%:1h");
    // The same step: the state's own hold.
    let mut dropped = alias_of(&rollout, "r2");
    let mut marker = Marker::of(&rollout);
    marker.next_step_at = None;
    dropped.description = marker.render();
    let AliasCheck::Replayed(m) = reconcile(&rollout, &plan, &dropped) else {
        panic!("not replayed")
    };
    let same = rollout.replayed(&m, &plan, &dropped, t(60));
    assert_eq!(same.next_step_at, Some(t(3600)));
    assert!(same.validate().is_ok());
    // A later step this state never saw (an older release's marker): its whole hold from now.
    let later = rollout.after(
        &Decision::Shift {
            step_index: 1,
            weight: 0.5,
        },
        &plan,
        t(3600),
    );
    let mut older = alias_of(&later, "r3");
    let mut marker = Marker::of(&later);
    marker.next_step_at = None;
    older.description = marker.render();
    let AliasCheck::Replayed(m) = reconcile(&rollout, &plan, &older) else {
        panic!("not replayed")
    };
    let caught_up = rollout.replayed(&m, &plan, &older, t(4000));
    assert_eq!(caught_up.step_index, 1);
    assert_eq!(caught_up.next_step_at, Some(t(4000 + 3600)));
    assert!(caught_up.validate().is_ok());
}

#[test]
fn a_promote_written_into_the_bake_is_never_taken() {
    let mut spec = spec("10%:1h");
    spec.bake_time = Some(600);
    let plan = spec.validate().unwrap();
    let mut rollout = Rollout::started(&spec, &plan, RID.into(), "6".into(), false, t(0));
    rollout.alias_revision_id = "r1".into();
    let baking = rollout.after(&Decision::Promote { step_index: 1 }, &plan, t(3600));
    assert_eq!((baking.weight, baking.status), (1.0, Status::InProgress));
    let mut forged = alias_of(&baking, "r3");
    let mut marker = Marker::of(&baking);
    marker.control = Some(Control::Promoted);
    forged.description = marker.render();
    assert_eq!(forged.marker(), None, "not a marker lambda-rollout writes");
    let check = reconcile(&baking, &plan, &forged);
    assert!(matches!(check, AliasCheck::ChangedByOthers(_)), "{check:?}");
    // Nor does a state at 100 % take a promote from any marker.
    let mut state = baking.clone();
    state.adopt_control(&marker, t(3700));
    assert_eq!(state.control, None);
    assert_eq!(state.next_step_at, baking.next_step_at);
}
