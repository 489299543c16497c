use super::*;
use crate::alarms::{AlarmState, AlarmVerdict};
use crate::alias::AliasState;
use crate::plan::Plan;
use crate::provisioned::{ProvisionedConcurrency, Provisioning};
use crate::state::{Rollout, Spec, Status};
use crate::version::{PublishedVersion, VersionConfig};
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

const RID: &str = "r-20270115T080000000Z";

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
}

fn spec(strategy: &str) -> Spec {
    Spec::new("orders-api", "live", "7", strategy).alarms(["errors"])
}

fn alias(version: &str, routing: Option<(&str, f64)>, revision: &str) -> AliasState {
    AliasState {
        version: version.into(),
        routing: routing.map(|(v, w)| (v.to_string(), w)),
        revision_id: revision.into(),
        description: String::new(),
    }
}

fn ok() -> Vec<AlarmVerdict> {
    vec![AlarmVerdict::new("errors", AlarmState::Ok)]
}

fn firing() -> Vec<AlarmVerdict> {
    vec![AlarmVerdict::new("errors", AlarmState::Alarm)]
}

fn active() -> PublishedVersion {
    PublishedVersion::Present(VersionConfig::active(
        "arn:aws:iam::000000000000:role/orders",
    ))
}

/// What a start saw: `alias`, `target` (the current version is configured alike), `alarms`.
fn seen<'a>(
    alias: &'a AliasState,
    target: &'a PublishedVersion,
    alarms: &'a [AlarmVerdict],
) -> Observed<'a> {
    Observed {
        alias,
        target,
        waited_seconds: 0,
        current: Some(target),
        provisioned: None,
        alarms,
    }
}

/// A rollout started at t(0) on `strategy`, as its first alias write left it (revision r1).
fn started(strategy: &str) -> (Rollout, Plan) {
    let spec = spec(strategy);
    let plan = spec.validate().unwrap();
    let mut rollout = Rollout::started(&spec, &plan, RID.into(), "6".into(), false, t(0));
    rollout.alias_revision_id = "r1".into();
    (rollout, plan)
}

/// The alias as `rollout` left it, carrying its marker.
fn alias_of(rollout: &Rollout, revision: &str) -> AliasState {
    let routing = (rollout.weight < 1.0 && rollout.status == Status::InProgress)
        .then_some(("7", rollout.weight));
    let version = if rollout.weight >= 1.0 { "7" } else { "6" };
    let mut a = alias(version, routing, revision);
    a.description = Marker::of(rollout).render();
    a
}

#[test]
fn starts_with_the_first_step_of_the_plan() {
    let spec = spec("Canary10Percent5Minutes");
    let plan = spec.validate().unwrap();
    let start = begin(
        &spec,
        &plan,
        &seen(&alias("6", None, "r0"), &active(), &ok()),
    )
    .unwrap();
    assert_eq!(
        start,
        Start::Begin(Decision::Shift {
            step_index: 0,
            weight: 0.1
        })
    );
    let rollout = Rollout::started(&spec, &plan, RID.into(), "6".into(), false, t(0));
    assert_eq!(rollout.weight, 0.1);
    assert_eq!(rollout.next_step_at, Some(t(300)));
    assert_eq!(rollout.wait_seconds, CHECK_INTERVAL_SECONDS);
    assert_eq!(rollout.spec.current_version.as_deref(), Some("6"));
}

#[test]
fn all_at_once_promotes_and_succeeds_at_start() {
    let (rollout, _) = started("AllAtOnce");
    assert_eq!((rollout.status, rollout.weight), (Status::Succeeded, 1.0));
    assert_eq!(rollout.wait_seconds, 0);
}

#[test]
fn refuses_to_start_when_a_named_alarm_is_missing() {
    let spec = spec("AllAtOnce");
    let plan = spec.validate().unwrap();
    let alarms = [AlarmVerdict::new("errors", AlarmState::Missing)];
    let err = begin(
        &spec,
        &plan,
        &seen(&alias("6", None, "r0"), &active(), &alarms),
    )
    .unwrap_err();
    assert!(
        matches!(err, Refusal::Invalid(ref f) if f.field == "alarms"),
        "{err:?}"
    );
}

#[test]
fn refuses_to_start_when_an_alarm_is_firing_or_unreadable() {
    let spec = spec("AllAtOnce");
    let plan = spec.validate().unwrap();
    let a = alias("6", None, "r0");
    assert!(matches!(
        begin(&spec, &plan, &seen(&a, &active(), &firing())),
        Err(Refusal::Unhealthy(_))
    ));
    let unreadable = [AlarmVerdict::new(
        "errors",
        AlarmState::Unreadable("denied".into()),
    )];
    assert!(matches!(
        begin(&spec, &plan, &seen(&a, &active(), &unreadable)),
        Err(Refusal::Unhealthy(_))
    ));
}

#[test]
fn refuses_a_missing_or_inactive_target_version() {
    let spec = spec("AllAtOnce");
    let plan = spec.validate().unwrap();
    let a = alias("6", None, "r0");
    let err = begin(&spec, &plan, &seen(&a, &PublishedVersion::Missing, &ok())).unwrap_err();
    assert!(matches!(err, Refusal::Invalid(ref f) if f.field == "targetVersion"));
    let pending = PublishedVersion::Present(VersionConfig {
        state: "Pending".into(),
        last_update_status: "InProgress".into(),
        ..VersionConfig::default()
    });
    let err = begin(&spec, &plan, &seen(&a, &pending, &ok())).unwrap_err();
    assert!(err.to_string().contains("Pending"), "{err}");
}

#[test]
fn a_target_already_live_is_nothing_to_do() {
    let spec = spec("Canary10Percent5Minutes");
    let plan = spec.validate().unwrap();
    let start = begin(
        &spec,
        &plan,
        &seen(&alias("7", None, "r0"), &active(), &firing()),
    );
    assert_eq!(start, Ok(Start::AlreadyLive));
}

#[test]
fn refuses_an_alias_already_split_by_someone_else() {
    let spec = spec("Canary10Percent5Minutes");
    let plan = spec.validate().unwrap();
    let a = alias("6", Some(("5", 0.5)), "r0");
    assert!(matches!(
        begin(&spec, &plan, &seen(&a, &active(), &ok())),
        Err(Refusal::Conflict(_))
    ));
}

#[test]
fn refuses_when_alias_is_not_on_the_stated_current_version() {
    let mut spec = spec("Canary10Percent5Minutes");
    spec.current_version = Some("5".into());
    let plan = spec.validate().unwrap();
    let err = begin(
        &spec,
        &plan,
        &seen(&alias("6", None, "r0"), &active(), &ok()),
    )
    .unwrap_err();
    assert!(matches!(err, Refusal::Conflict(ref m) if m.contains("currentVersion 5")));
}

#[test]
fn a_replayed_start_resumes_instead_of_shifting_again() {
    let (rollout, plan) = started("Canary10Percent5Minutes");
    let a = alias_of(&rollout, "r1");
    let start = begin(&rollout.spec, &plan, &seen(&a, &active(), &ok())).unwrap();
    assert!(
        matches!(start, Start::Resume(ref m) if m.rollout_id == RID),
        "{start:?}"
    );
}

#[test]
fn holds_until_the_step_is_due() {
    let (rollout, plan) = started("Canary10Percent5Minutes");
    assert_eq!(
        decide(&rollout, &plan, &ok(), None, t(100)),
        Decision::Wait { seconds: 200 }
    );
    let waiting = rollout.after(&Decision::Wait { seconds: 200 }, &plan, t(100));
    assert_eq!(
        waiting.wait_seconds, CHECK_INTERVAL_SECONDS,
        "re-checks alarms within a minute"
    );
}

#[test]
fn shifts_to_the_next_weight_when_due() {
    let (rollout, plan) = started("Linear10PercentEvery1Minute");
    let decision = decide(&rollout, &plan, &ok(), None, t(60));
    assert_eq!(
        decision,
        Decision::Shift {
            step_index: 1,
            weight: 0.2
        }
    );
    let next = rollout.after(&decision, &plan, t(60));
    assert_eq!(
        (next.step_index, next.weight, next.next_step_at),
        (1, 0.2, Some(t(120)))
    );
}

#[test]
fn promotes_after_the_last_partial_step() {
    let (rollout, plan) = started("Canary10Percent5Minutes");
    let decision = decide(&rollout, &plan, &ok(), None, t(300));
    assert_eq!(decision, Decision::Promote { step_index: 1 });
    let done = rollout.after(&decision, &plan, t(300));
    assert_eq!((done.status, done.weight), (Status::Succeeded, 1.0));
}

#[test]
fn bakes_after_promotion_then_succeeds() {
    let mut spec = spec("Canary10Percent5Minutes");
    spec.bake_time = Some(600);
    let plan = spec.validate().unwrap();
    let rollout = Rollout::started(&spec, &plan, RID.into(), "6".into(), false, t(0));
    let promoted = rollout.after(&Decision::Promote { step_index: 1 }, &plan, t(300));
    assert_eq!(
        (promoted.status, promoted.weight),
        (Status::InProgress, 1.0)
    );
    assert_eq!(
        decide(&promoted, &plan, &ok(), None, t(600)),
        Decision::Wait { seconds: 300 }
    );
    assert_eq!(
        decide(&promoted, &plan, &ok(), None, t(900)),
        Decision::Complete
    );
    assert_eq!(
        promoted.after(&Decision::Complete, &plan, t(900)).status,
        Status::Succeeded
    );
}

#[test]
fn rolls_back_when_alarm_fires_mid_shift() {
    let (rollout, plan) = started("Linear10PercentEvery1Minute");
    let decision = decide(&rollout, &plan, &firing(), None, t(10));
    assert!(
        matches!(decision, Decision::RollBack { ref reason } if reason.contains("errors is in ALARM"))
    );
    let back = rollout.after(&decision, &plan, t(10));
    assert_eq!((back.status, back.weight), (Status::RolledBack, 0.0));
}

#[test]
fn rolls_back_when_an_alarm_breaches_during_bake_time() {
    let mut spec = spec("AllAtOnce");
    spec.bake_time = Some(600);
    let plan = spec.validate().unwrap();
    let baking = Rollout::started(&spec, &plan, RID.into(), "6".into(), false, t(0));
    assert_eq!(baking.status, Status::InProgress);
    assert!(matches!(
        decide(&baking, &plan, &firing(), None, t(30)),
        Decision::RollBack { .. }
    ));
}

#[test]
fn a_missing_or_unreadable_alarm_mid_rollout_rolls_back() {
    let (rollout, plan) = started("Canary10Percent5Minutes");
    for state in [
        AlarmState::Missing,
        AlarmState::Unreadable("throttled".into()),
    ] {
        let alarms = [AlarmVerdict::new("errors", state)];
        assert!(matches!(
            decide(&rollout, &plan, &alarms, None, t(1)),
            Decision::RollBack { .. }
        ));
    }
}

#[test]
fn insufficient_data_is_not_a_breach() {
    let (rollout, plan) = started("Canary10Percent5Minutes");
    let alarms = [AlarmVerdict::new("errors", AlarmState::InsufficientData)];
    assert_eq!(
        decide(&rollout, &plan, &alarms, None, t(300)),
        Decision::Promote { step_index: 1 }
    );
}

#[test]
fn an_ended_rollout_does_nothing() {
    let (mut rollout, plan) = started("Canary10Percent5Minutes");
    rollout.end(Status::RolledBack, "alarm".into());
    assert_eq!(
        decide(&rollout, &plan, &firing(), None, t(1000)),
        Decision::Ended
    );
}

#[test]
fn the_alias_as_left_is_ours() {
    let (rollout, plan) = started("Canary10Percent5Minutes");
    assert_eq!(
        reconcile(&rollout, &plan, &alias_of(&rollout, "r1")),
        AliasCheck::Ours
    );
}

#[test]
fn aborts_and_keeps_a_change_made_by_someone_else() {
    let (rollout, plan) = started("Canary10Percent5Minutes");
    let theirs = alias("6", Some(("8", 0.5)), "r9");
    assert!(
        matches!(reconcile(&rollout, &plan, &theirs), AliasCheck::ChangedByOthers(ref m) if m.contains("8"))
    );
}

#[test]
fn an_alias_restored_to_current_version_means_rolled_back() {
    let (rollout, plan) = started("Canary10Percent5Minutes");
    let restored = alias("6", None, "r2");
    assert_eq!(
        reconcile(&rollout, &plan, &restored),
        AliasCheck::RestoredToCurrent
    );
}

#[test]
fn replaying_a_state_after_its_step_was_taken_never_shifts_twice() {
    let (rollout, plan) = started("Linear10PercentEvery1Minute");
    let decision = decide(&rollout, &plan, &ok(), None, t(60));
    let mut shifted = rollout.after(&decision, &plan, t(60));
    shifted.alias_revision_id = "r2".into();
    let now_alias = alias_of(&shifted, "r2");
    // The old state arrives again: the alias shows this rollout's later step.
    let check = reconcile(&rollout, &plan, &now_alias);
    let AliasCheck::Replayed(marker) = check else {
        panic!("{check:?}")
    };
    let reported = rollout.replayed(&marker, &plan, &now_alias, t(61));
    assert_eq!((reported.step_index, reported.weight), (1, 0.2));
    assert_eq!(reported.alias_revision_id, "r2");
    assert_eq!(reconcile(&reported, &plan, &now_alias), AliasCheck::Ours);
}

#[test]
fn stopping_restores_the_primary_version_of_a_split_alias() {
    assert_eq!(
        version_to_restore(&alias("6", Some(("7", 0.1)), "r")),
        Some("6".into())
    );
    assert_eq!(version_to_restore(&alias("6", None, "r")), None);
    let (mut baking, _) = started("AllAtOnce");
    baking.status = Status::InProgress;
    assert_eq!(
        version_to_restore(&alias_of(&baking, "r")),
        Some("6".into())
    );
}

#[test]
fn marker_round_trips_through_the_description() {
    let (rollout, _) = started("Canary10Percent5Minutes");
    let marker = Marker::of(&rollout);
    assert!(marker.render().len() <= 256);
    assert_eq!(Marker::parse(&marker.render()), Some(marker));
    assert_eq!(Marker::parse("my own description"), None);
}

fn alarm_states() -> impl Strategy<Value = Vec<AlarmVerdict>> {
    proptest::collection::vec(
        prop_oneof![
            Just(AlarmState::Ok),
            Just(AlarmState::InsufficientData),
            Just(AlarmState::Alarm),
            Just(AlarmState::Missing),
        ],
        0..4,
    )
    .prop_map(|states| {
        states
            .into_iter()
            .enumerate()
            .map(|(i, s)| AlarmVerdict::new(format!("a{i}"), s))
            .collect()
    })
}

proptest! {
    /// Drives a rollout to its end under random alarms and clocks.
    #[test]
    fn engine_invariants_hold_over_whole_rollouts(
        p in 1u32..=99,
        minutes in 1u32..=5,
        ticks in proptest::collection::vec((alarm_states(), 0i64..400), 1..40),
    ) {
        let (mut rollout, plan) = started(&format!("Linear{p}PercentEvery{minutes}Minutes"));
        let mut now = t(0);
        for (alarms, advance) in ticks {
            now += Duration::seconds(advance);
            let breached = alarms.iter().any(AlarmVerdict::fails);
            let was_terminal = rollout.status.is_terminal();
            let decision = decide(&rollout, &plan, &alarms, None, now);
            if was_terminal {
                prop_assert_eq!(&decision, &Decision::Ended, "no move after an end");
            } else if breached {
                prop_assert!(matches!(decision, Decision::RollBack { .. }), "breach → back");
            }
            if let Decision::Shift { weight, step_index } = decision {
                prop_assert!(weight > 0.0 && weight < 1.0);
                prop_assert_eq!(step_index, rollout.step_index + 1, "one step at a time");
            }
            let next = rollout.after(&decision, &plan, now);
            prop_assert!(next.weight >= rollout.weight || next.status == Status::RolledBack);
            prop_assert!((0.0..=1.0).contains(&next.weight));
            rollout = next;
        }
    }
}

#[test]
fn refuses_to_start_while_another_rollout_still_bakes_its_version() {
    let mut first = spec("AllAtOnce");
    first.bake_time = Some(600);
    let plan = first.validate().unwrap();
    let baking = Rollout::started(&first, &plan, RID.into(), "6".into(), false, t(0));
    assert_eq!((baking.status, baking.weight), (Status::InProgress, 1.0));
    let alias = alias_of(&baking, "r1");
    let mut next = spec("Canary10Percent5Minutes");
    next.target_version = "8".into();
    let refused = begin(
        &next,
        &Plan::parse(&next.strategy, 0).unwrap(),
        &seen(&alias, &active(), &ok()),
    );
    assert!(
        matches!(&refused, Err(Refusal::Conflict(why)) if why.contains("still in progress")),
        "{refused:?}"
    );
}

#[test]
fn a_pending_target_is_not_ready_yet_and_says_how_long_it_was_waited_for() {
    let spec = spec("Canary10Percent5Minutes");
    let plan = spec.validate().unwrap();
    let pending = PublishedVersion::Present(VersionConfig {
        state: "Pending".into(),
        state_reason_code: "Creating".into(),
        last_update_status: "InProgress".into(),
        ..VersionConfig::active("arn:aws:iam::000000000000:role/orders")
    });
    let a = alias("6", None, "r0");
    let alarms = ok();
    let observed = Observed {
        waited_seconds: 600,
        ..seen(&a, &pending, &alarms)
    };
    let err = begin(&spec, &plan, &observed).unwrap_err();
    let Refusal::NotReady(why) = err else {
        panic!("{err:?}")
    };
    assert!(
        why.contains("Pending (Creating)") && why.contains("still after waiting 10m"),
        "{why}"
    );
}

#[test]
fn refuses_a_split_between_versions_with_different_roles_naming_both() {
    let spec = spec("Canary10Percent5Minutes");
    let plan = spec.validate().unwrap();
    let a = alias("6", None, "r0");
    let other = PublishedVersion::Present(VersionConfig::active(
        "arn:aws:iam::000000000000:role/other",
    ));
    let (target, alarms) = (active(), ok());
    let observed = Observed {
        current: Some(&other),
        ..seen(&a, &target, &alarms)
    };
    let err = begin(&spec, &plan, &observed).unwrap_err();
    let Refusal::Invalid(field) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(field.field, "targetVersion");
    assert!(
        field.problem.contains("role/orders") && field.problem.contains("role/other"),
        "{err}"
    );
    // All at once never splits the alias: Lambda's condition does not apply.
    let all_at_once = self::spec("AllAtOnce");
    let plan = all_at_once.validate().unwrap();
    assert!(begin(&all_at_once, &plan, &observed).is_ok());
    assert_eq!(current_version_to_read(&all_at_once, &plan, &a), None);
}

#[test]
fn preflight_lists_every_finding_not_only_the_first() {
    let spec = spec("Canary10Percent5Minutes");
    let plan = spec.validate().unwrap();
    let a = alias("6", Some(("5", 0.5)), "r0");
    let other = PublishedVersion::Present(VersionConfig::active(
        "arn:aws:iam::000000000000:role/other",
    ));
    let alarms = [
        AlarmVerdict::new("errors", AlarmState::Alarm),
        AlarmVerdict::new("gone", AlarmState::Missing),
    ];
    let target = active();
    let observed = Observed {
        current: Some(&other),
        ..seen(&a, &target, &alarms)
    };
    let failed: Vec<&str> = preflight(&spec, &plan, &observed)
        .iter()
        .filter(|c| c.outcome.is_err())
        .map(|c| c.name)
        .collect();
    assert_eq!(failed, ["weightedAlias", "alarms", "alarms", "alias"]);
}

fn provisioned(status: &str, reason: &str) -> ProvisionedConcurrency {
    ProvisionedConcurrency {
        status: status.into(),
        status_reason: reason.into(),
        requested: 10,
        allocated: 4,
    }
}

#[test]
fn refuses_to_start_on_an_alias_whose_provisioned_concurrency_failed() {
    let spec = spec("Canary10Percent5Minutes");
    let plan = spec.validate().unwrap();
    let a = alias("6", None, "r0");
    let failed = provisioned("FAILED", "FUNCTION_ERROR_INIT_FAILURE");
    let (target, alarms) = (active(), ok());
    let observed = Observed {
        provisioned: Some(&failed),
        ..seen(&a, &target, &alarms)
    };
    let err = begin(&spec, &plan, &observed).unwrap_err();
    assert!(
        matches!(&err, Refusal::Invalid(f) if f.field == "alias" && f.problem.contains("FUNCTION_ERROR_INIT_FAILURE")),
        "{err:?}"
    );
    let ready = provisioned("READY", "");
    let observed = Observed {
        provisioned: Some(&ready),
        ..seen(&a, &target, &alarms)
    };
    assert!(begin(&spec, &plan, &observed).is_ok());
}

/// A canary on an alias with provisioned concurrency, as its start left it.
fn started_provisioned(strategy: &str) -> (Rollout, Plan) {
    let spec = spec(strategy);
    let plan = spec.validate().unwrap();
    let mut rollout = Rollout::started(&spec, &plan, RID.into(), "6".into(), true, t(0));
    rollout.alias_revision_id = "r1".into();
    (rollout, plan)
}

#[test]
fn with_provisioned_concurrency_no_step_is_judged_before_its_weights_are_ready() {
    let (rollout, plan) = started_provisioned("Canary10Percent5Minutes");
    assert_eq!(
        rollout.provisioned_concurrency,
        Some(Provisioning::Allocating)
    );
    assert_eq!(rollout.weight, 0.1);
    // Not READY: wait, however long the 5 minute hold would have been.
    let decision = decide_allocating(
        &rollout,
        &ok(),
        Some(&provisioned("IN_PROGRESS", "")),
        t(400),
    );
    assert_eq!(decision, Decision::Wait { seconds: 10 });
    // READY at t(400): the hold starts then, and the step is judged 5 minutes later.
    let decision = decide_allocating(&rollout, &ok(), Some(&provisioned("READY", "")), t(400));
    assert_eq!(decision, Decision::StartHold);
    let holding = rollout.after(&decision, &plan, t(400));
    assert_eq!(holding.provisioned_concurrency, Some(Provisioning::Ready));
    assert_eq!(holding.next_step_at, Some(t(700)));
    assert_eq!(
        decide(&holding, &plan, &ok(), None, t(699)),
        Decision::Wait { seconds: 1 }
    );
    // The promotion's weights are allocated again before the rollout can succeed.
    let promoted = holding.after(&Decision::Promote { step_index: 1 }, &plan, t(700));
    assert_eq!(
        (promoted.status, promoted.provisioned_concurrency),
        (Status::InProgress, Some(Provisioning::Allocating))
    );
    let ready = promoted.after(&Decision::StartHold, &plan, t(760));
    assert_eq!(
        decide(&ready, &plan, &ok(), None, t(760)),
        Decision::Complete
    );
    let done = ready.after(&Decision::Complete, &plan, t(760));
    assert_eq!(done.reason.as_deref(), Some("promoted version 7"));
}

#[test]
fn a_failed_or_endless_allocation_rolls_back_with_the_reason() {
    let (rollout, _) = started_provisioned("Canary10Percent5Minutes");
    let failed = decide_allocating(
        &rollout,
        &ok(),
        Some(&provisioned("FAILED", "FUNCTION_ERROR_INIT_FAILURE")),
        t(30),
    );
    assert!(
        matches!(&failed, Decision::RollBack { reason } if reason.contains("10% on version 7 could not be allocated: FUNCTION_ERROR_INIT_FAILURE")),
        "{failed:?}"
    );
    let late = decide_allocating(
        &rollout,
        &ok(),
        Some(&provisioned("IN_PROGRESS", "")),
        t(900),
    );
    assert!(
        matches!(&late, Decision::RollBack { reason } if reason.contains("still not READY 15m after the shift (10 requested, 4 allocated (IN_PROGRESS))")),
        "{late:?}"
    );
    // Provisioned concurrency removed meanwhile: nothing to wait for.
    assert_eq!(
        decide_allocating(&rollout, &ok(), None, t(30)),
        Decision::StartHold
    );
}

#[test]
fn an_alarm_rolls_back_while_provisioned_concurrency_is_still_allocating() {
    let (rollout, _) = started_provisioned("Canary10Percent5Minutes");
    let decision = decide_allocating(
        &rollout,
        &firing(),
        Some(&provisioned("IN_PROGRESS", "")),
        t(40),
    );
    assert!(
        matches!(&decision, Decision::RollBack { reason } if reason.contains("errors")),
        "{decision:?}"
    );
    // An alarm that cannot be read fails closed there too.
    let unreadable = [AlarmVerdict::new(
        "errors",
        AlarmState::Unreadable("throttled".into()),
    )];
    assert!(matches!(
        decide_allocating(
            &rollout,
            &unreadable,
            Some(&provisioned("IN_PROGRESS", "")),
            t(40)
        ),
        Decision::RollBack { .. }
    ));
}

#[test]
fn without_provisioned_concurrency_nothing_changes() {
    let (rollout, _) = started("Canary10Percent5Minutes");
    assert_eq!(rollout.provisioned_concurrency, None);
    assert_eq!(rollout.next_step_at, Some(t(300)));
}

mod control;
mod judged;

#[test]
fn a_rollout_run_again_with_another_strategy_is_refused_not_taken_over() {
    // Step 4 of a four-step custom list, at 40 %.
    let (mut rollout, plan) = started("10%:1s,20%:1s,30%:1s,40%:10m");
    for step_index in 1..=3 {
        let weight = plan.steps[step_index].weight;
        rollout = rollout.after(
            &Decision::Shift { step_index, weight },
            &plan,
            t(step_index as i64),
        );
    }
    let a = alias_of(&rollout, "r4");
    let other = spec("Canary10Percent5Minutes");
    let refused = begin(
        &other,
        &other.validate().unwrap(),
        &seen(&a, &active(), &ok()),
    );
    assert!(
        matches!(&refused, Err(Refusal::Conflict(why)) if why.contains("its own strategy")),
        "{refused:?}"
    );
    // With its own strategy it resumes where it was.
    let same = begin(&rollout.spec, &plan, &seen(&a, &active(), &ok())).unwrap();
    assert!(
        matches!(same, Start::Resume(ref m) if m.step_index == 3),
        "{same:?}"
    );
}
