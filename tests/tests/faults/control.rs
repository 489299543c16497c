//! Faults on the newer paths: an operator's pause, resume and promote (the `rollout` command
//! and the driver that adopts them), and the EventBridge and CloudWatch signals sent during a
//! rollback. The real SDK through [`FaultProxy`] against ministack.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use rollout_aws::Adapters;
use rollout_core::engine::control::Operator;
use rollout_core::state::Control;
use rollout_core::{Marker, Status};
use rollout_testkit::faults::Fault;
use rollout_testkit::fixture::{kept, spawn_rollout_cli};
use rollout_testkit::sdk_config;
use rollout_usecases::driver::{ControlError, ControlRequest, DriveError, Driver};
use rollout_usecases::ports::AliasStore;

use crate::{started_with, t, Faulty, PATIENCE};

fn asked(op: Operator) -> ControlRequest<'static> {
    ControlRequest {
        function: "orders",
        alias: "live",
        op,
        reason: "p99 looks odd",
        topic: None,
    }
}

/// A driver that tells `f`'s topic, its calls through the proxy.
fn operator(f: &Faulty) -> Driver<'_> {
    let mut driver = f
        .adapters
        .driver("rollout-cli", &[], Some(&f.world.topic_arn));
    driver.patience = PATIENCE;
    driver
}

/// The `rollout` command through the proxy, run to its end.
fn cli(f: &Faulty, args: &[&str]) -> std::process::Output {
    spawn_rollout_cli(&f.stack, &f.proxy.url(), args)
        .wait_with_output()
        .expect("rollout ends")
}

fn pause_args(f: &Faulty) -> Vec<&str> {
    vec![
        "pause",
        "--function",
        "orders",
        "--alias",
        "live",
        "--reason",
        "p99 looks odd",
        "--topic",
        &f.world.topic_arn,
    ]
}

/// The events a subscriber kept since the last look (the queue is drained).
async fn events(f: &Faulty) -> Vec<String> {
    kept(&f.world.notifications().await)
        .iter()
        .map(|n| n["event"].as_str().unwrap().to_string())
        .collect()
}

fn writes(f: &Faulty) -> usize {
    f.proxy
        .log()
        .iter()
        .filter(|c| c.operation == "UpdateAlias")
        .count()
}

/// The alias's marker, which must parse and still describe the alias: never a half-state.
async fn whole_marker(f: &Faulty) -> Marker {
    let clean = Adapters::new(&sdk_config(&f.stack.endpoint()));
    let state = clean.aliases.get("orders", "live").await.expect("read");
    let marker = state.marker().expect("the marker parses");
    assert!(marker.describes(&state), "{state:?}");
    marker
}

#[test]
fn a_pause_whose_answer_is_lost_is_told_once_and_its_retry_writes_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let f = runtime.block_on(Faulty::new());
    let alarm = runtime.block_on(f.function("orders"));
    let rollout = runtime.block_on(started_with(&f, "orders", "20%:10m,50%:10m", &alarm));
    f.proxy.clear_log();
    f.proxy.fail("UpdateAlias", Fault::LoseAnswer, 1);
    let out = cli(&f, &pause_args(&f));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lost = f
        .proxy
        .log()
        .iter()
        .filter(|c| c.fault == Some(Fault::LoseAnswer))
        .count();
    assert_eq!(lost, 1, "the write went through and its answer was lost");
    let marker = runtime.block_on(whole_marker(&f));
    assert_eq!(marker.control, Some(Control::Paused));
    let told = runtime.block_on(f.world.notifications());
    let events: Vec<_> = kept(&told).iter().map(|n| n["event"].clone()).collect();
    assert_eq!(events, ["rollout.started", "rollout.paused"]);
    let paused_id = kept(&told)[1]["eventId"].clone();
    // The whole command again, as a script would after any doubt: recognised as the same
    // request, nothing written, its alert told again under the same eventId (a subscriber
    // drops it).
    f.proxy.clear_log();
    let again = cli(&f, &pause_args(&f));
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("already recorded"), "{stdout}");
    assert_eq!(writes(&f), 0);
    let retold = runtime.block_on(f.world.notifications());
    assert_eq!(retold.len(), 1, "{retold:?}");
    assert_eq!(retold[0]["eventId"], paused_id);
    // Another reason is another request: refused, nothing written.
    let mut other = pause_args(&f);
    other[6] = "lunch";
    let refused = cli(&f, &other);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already paused"), "{stderr}");
    assert_eq!(writes(&f), 0);
    // The driver, due, takes the pause: nothing shifts, nothing is overwritten.
    let before = runtime.block_on(f.world.alias("orders"));
    let due = rollout.next_step_at.expect("holding");
    let held = runtime
        .block_on(f.driver().step(&rollout, due))
        .expect("step");
    assert_eq!(
        (held.rollout.step_index, held.rollout.control),
        (0, Some(Control::Paused))
    );
    assert_eq!(runtime.block_on(f.world.alias("orders")), before);
}

#[tokio::test]
async fn a_step_refused_by_a_pause_adopts_it_through_faults_and_never_shifts_past_it() {
    let f = Faulty::new().await;
    let alarm = f.function("orders").await;
    let rollout = started_with(&f, "orders", "20%:1m,50%:1m", &alarm).await;
    operator(&f)
        .control(asked(Operator::Pause), t(5))
        .await
        .unwrap();
    let paused = f.world.alias("orders").await;
    // The driver's write (with the RevisionId it read before the pause) and its re-read meet
    // throttling and 5xx on the way.
    f.proxy.fail("UpdateAlias", Fault::Throttle, 4);
    f.proxy.fail("GetAlias", Fault::ServerError(503), 4);
    let mut state = rollout;
    for at in [60, 120, 600, 3600] {
        state = f.driver().step(&state, t(at)).await.expect("step").rollout;
        assert_eq!(
            (state.status, state.step_index, state.control),
            (Status::InProgress, 0, Some(Control::Paused)),
            "t({at})"
        );
        assert_eq!(f.world.alias("orders").await, paused, "t({at})");
    }
    assert_eq!(state.alias_revision_id, paused.revision_id);
    assert_eq!(events(&f).await, ["rollout.started", "rollout.paused"]);
    // Resumed: the step whose hold is long over advances at once, over the resume's revision.
    operator(&f)
        .control(asked(Operator::Resume), t(3700))
        .await
        .unwrap();
    let resumed = f
        .driver()
        .step(&state, t(3700))
        .await
        .expect("step")
        .rollout;
    assert_eq!(
        (resumed.step_index, resumed.control),
        (0, Some(Control::Resumed)),
        "taken on this check"
    );
    let shifted = f
        .driver()
        .step(&resumed, t(3701))
        .await
        .expect("step")
        .rollout;
    assert_eq!((shifted.step_index, shifted.weight), (1, 0.5));
    assert_eq!(events(&f).await, ["rollout.resumed", "rollout.shifted"]);
}

#[tokio::test]
async fn a_pause_landing_while_a_rollback_is_written_does_not_stop_it() {
    let f = Faulty::new().await;
    let alarm = f.function("orders").await;
    let rollout = started_with(&f, "orders", "20%:10m", &alarm).await;
    f.world.set_alarm(&alarm, StateValue::Alarm).await;
    // The rollback's write is held a second in the proxy, then throttled a while; the
    // operator's pause (on a clean path) lands meanwhile and replaces the RevisionId.
    f.proxy
        .fail("UpdateAlias", Fault::Delay(Duration::from_secs(1)), 1);
    f.proxy.fail("UpdateAlias", Fault::Throttle, 3);
    let clean = Adapters::new(&sdk_config(&f.stack.endpoint()));
    let mut person = clean.driver("rollout-cli", &[], Some(&f.world.topic_arn));
    person.patience = PATIENCE;
    let pause = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        person.control(asked(Operator::Pause), t(11)).await
    };
    let driver = f.driver();
    let (stepped, paused) = tokio::join!(driver.step(&rollout, t(10)), pause);
    paused.expect("the pause landed before the rollback");
    let stepped = stepped.expect("step");
    assert_eq!(
        stepped.rollout.status,
        Status::RolledBack,
        "{:?}",
        stepped.rollout.reason
    );
    assert!(stepped.rollout.reason.as_deref().unwrap().contains(&alarm));
    let alias = f.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    let refused = f
        .proxy
        .log()
        .iter()
        .filter(|c| c.operation == "UpdateAlias" && c.status == Some(412))
        .count();
    assert!(refused >= 1, "the stale rollback write was refused first");
    assert_eq!(
        events(&f).await,
        ["rollout.started", "rollout.paused", "rollout.rolled_back"]
    );
}

#[tokio::test]
async fn operator_requests_through_a_throttling_storm_end_in_an_error_and_leave_the_marker_whole() {
    let f = Faulty::new().await;
    let alarm = f.function("orders").await;
    started_with(&f, "orders", "20%:10m", &alarm).await;
    let before = f.world.alias("orders").await;
    for (operation, fault) in [
        ("UpdateAlias", Fault::Throttle),
        ("GetAlias", Fault::ServerError(500)),
        ("UpdateAlias", Fault::Drop),
    ] {
        f.proxy.clear();
        f.proxy.fail(operation, fault, 100_000);
        let began = Instant::now();
        let failed = operator(&f)
            .control(asked(Operator::Promote { full: true }), t(5))
            .await;
        let took = began.elapsed();
        match failed {
            Err(ControlError::Drive(DriveError::Alias(e))) => {
                assert!(e.is_transient(), "{operation} {fault:?}: {e}")
            }
            other => panic!("{operation} {fault:?}: {other:?}"),
        }
        assert!(
            took < PATIENCE.reads + Duration::from_secs(15),
            "{operation} {fault:?}: patience is bounded, took {took:?}"
        );
        assert_eq!(
            f.world.alias("orders").await,
            before,
            "{operation} {fault:?}"
        );
    }
    // The write lands, its answer is lost, and the SDK's retries meet throttling until the
    // bound: a last read finds the write, so the request is done and told, not an error.
    f.proxy.clear();
    f.proxy.fail("UpdateAlias", Fault::LoseAnswer, 1);
    f.proxy.fail("UpdateAlias", Fault::Throttle, 100_000);
    let done = operator(&f)
        .control(asked(Operator::Promote { full: true }), t(6))
        .await
        .expect("its own write, found");
    assert_eq!(done.event, "rollout.promoted");
    assert_eq!(whole_marker(&f).await.control, Some(Control::PromotedFull));
    f.proxy.clear();
    assert_eq!(events(&f).await, ["rollout.started", "rollout.promoted"]);
}

#[test]
fn the_cli_gives_up_on_a_throttling_storm_with_exit_1_and_writes_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let f = runtime.block_on(Faulty::new());
    let alarm = runtime.block_on(f.function("orders"));
    runtime.block_on(started_with(&f, "orders", "20%:10m", &alarm));
    let before = runtime.block_on(f.world.alias("orders"));
    f.proxy.fail("UpdateAlias", Fault::Throttle, 100_000);
    let began = Instant::now();
    let out = cli(&f, &pause_args(&f));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("UpdateAlias"), "names the call: {stderr}");
    assert!(began.elapsed() < Duration::from_secs(90), "bounded");
    assert_eq!(runtime.block_on(f.world.alias("orders")), before);
    f.proxy.clear();
    assert_eq!(runtime.block_on(events(&f)), ["rollout.started"]);
}

/// EventBridge and the TrafficWeight metric down during a rollback: with `sns_down`, SNS too.
async fn rollback_with_signals_down(sns_down: bool) {
    let mut f = Faulty::new().await;
    let event_bus = rollout_aws::events::EventBridgeEvents::new(
        aws_sdk_eventbridge::Client::new(&sdk_config(&f.proxy.url())),
        "default".into(),
    );
    f.adapters.channels.push(Box::new(event_bus));
    let alarm = f.function("orders").await;
    let rollout = started_with(&f, "orders", "20%:10m", &alarm).await;
    f.world.set_alarm(&alarm, StateValue::Alarm).await;
    f.proxy.clear_log();
    f.proxy.fail("PutEvents", Fault::Throttle, 100_000);
    f.proxy
        .fail("PutMetricData", Fault::ServerError(500), 100_000);
    if sns_down {
        f.proxy.fail("Publish", Fault::ServerError(503), 100_000);
    }
    let began = Instant::now();
    let stepped = f.driver().step(&rollout, t(10)).await.expect("step");
    let took = began.elapsed();
    assert_eq!(stepped.rollout.status, Status::RolledBack);
    let alias = f.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    // The rollback's write goes first, before any signal is tried.
    let log = f.proxy.log();
    let position = |op: &str| log.iter().position(|c| c.operation == op);
    let written = position("UpdateAlias").expect("the rollback");
    for signal in ["Publish", "PutEvents", "PutMetricData"] {
        let tried = position(signal).unwrap_or_else(|| panic!("{signal} was tried"));
        assert!(written < tried, "{signal} before the rollback: {log:?}");
    }
    // Each signal is tried within the read bound, one after the other, and no longer.
    assert!(
        took < PATIENCE.reads * 3 + Duration::from_secs(20),
        "took {took:?}"
    );
    let warning = stepped.warning.expect("the lost signals are a warning");
    assert!(warning.contains("EventBridge"), "{warning}");
    f.proxy.clear();
    if sns_down {
        assert!(
            warning.contains("notification could not be published"),
            "{warning}"
        );
    } else {
        assert!(
            !warning.contains("notification could not be published"),
            "{warning}"
        );
        assert_eq!(events(&f).await, ["rollout.started", "rollout.rolled_back"]);
    }
}

#[tokio::test]
async fn a_rollback_with_eventbridge_and_cloudwatch_down_still_alerts_over_sns() {
    rollback_with_signals_down(false).await;
}

#[tokio::test]
async fn a_rollback_with_every_signal_down_still_makes_the_alias_safe_and_tries_to_alert() {
    rollback_with_signals_down(true).await;
}

/// An operator's `op` whose write lands with its answer lost, while the driver that owns the
/// rollout (its calls not faulted) takes the request and moves on before the operator's
/// command looks again. Returns what the command said, the driver's state, the alias, and
/// the events a subscriber kept.
async fn lost_answer_with_the_driver_racing(
    op: Operator,
) -> (
    rollout_usecases::driver::Controlled,
    rollout_core::Rollout,
    rollout_core::AliasState,
    Vec<serde_json::Value>,
) {
    let f = Faulty::new().await;
    let alarm = f.function("orders").await;
    let mut rollout = started_with(&f, "orders", "10%:1h,30%:1h,60%:1h", &alarm).await;
    let clean = Adapters::new(&sdk_config(&f.stack.endpoint()));
    let mut driver = clean.driver("fault-suite", &[], None);
    driver.patience = PATIENCE;
    if op == Operator::Resume {
        operator(&f)
            .control(asked(Operator::Pause), t(5))
            .await
            .expect("pause");
        rollout = driver.step(&rollout, t(6)).await.expect("adopt").rollout;
    }
    f.world.notifications().await;
    f.proxy.fail("UpdateAlias", Fault::LoseAnswer, 1);
    // The command's next write attempt (the SDK's, or its own retry) is slow: the driver
    // takes the request meanwhile.
    f.proxy
        .fail("UpdateAlias", Fault::Delay(Duration::from_secs(2)), 1);
    let command = operator(&f);
    // A resume's alias carries the pause's `opid=` already: wait for this request's write.
    let before = clean
        .aliases
        .get("orders", "live")
        .await
        .expect("read")
        .description;
    let race = async {
        let deadline = Instant::now() + Duration::from_secs(20);
        while {
            let now = clean
                .aliases
                .get("orders", "live")
                .await
                .expect("read")
                .description;
            now == before || !now.contains("opid=")
        } {
            assert!(Instant::now() < deadline, "the request never landed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let adopted = driver.step(&rollout, t(10)).await.expect("adopt").rollout;
        let due = adopted.next_step_at.expect("in progress").max(t(11));
        driver.step(&adopted, due).await.expect("step").rollout
    };
    let (done, moved) = tokio::join!(command.control(asked(op), t(10)), race);
    let done = done.expect("the command succeeds");
    let alias = clean.aliases.get("orders", "live").await.expect("read");
    (done, moved, alias, kept(&f.world.notifications().await))
}

#[tokio::test]
async fn each_operator_command_whose_answer_is_lost_is_applied_once_and_told_once_while_the_driver_races(
) {
    // (request, the step the driver is at afterwards, traffic on version 2 then)
    for (op, step, weight) in [
        (Operator::Pause, 0, 0.1),
        (Operator::Resume, 1, 0.3),
        (Operator::Promote { full: false }, 1, 0.3),
        (Operator::Promote { full: true }, 3, 1.0),
    ] {
        let (done, moved, alias, told) = lost_answer_with_the_driver_racing(op).await;
        assert!(!done.already_recorded, "{op:?}: {done:?}");
        assert_eq!(moved.step_index, step, "{op:?}: {moved:?}");
        let on_target = match &alias.routing {
            Some((version, w)) if version == "2" => *w,
            Some(other) => panic!("{other:?}"),
            None if alias.version == "2" => 1.0,
            None => 0.0,
        };
        assert_eq!(on_target, weight, "{op:?}: applied once, not twice");
        let of_op: Vec<_> = told
            .iter()
            .filter(|n| n["event"] == op.event().as_str())
            .collect();
        assert_eq!(of_op.len(), 1, "{op:?}: told once: {told:?}");
        assert!(
            of_op[0]["eventId"]
                .as_str()
                .unwrap()
                .ends_with(&format!("@{}", done.control_id)),
            "{op:?}: {of_op:?}"
        );
    }
}
