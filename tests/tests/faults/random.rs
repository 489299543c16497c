//! A seeded random run (release sets have theirs in `sets`): sixteen rollouts, a third of
//! them breached, a quarter of them paused by an operator at their last split step (and resumed two checks later), a quarter promoted
//! by an operator out of an hour's hold, a sixth on an alias with provisioned concurrency whose
//! first reads after each shift say it is still allocating, with about 30 % of all AWS calls
//! faulted (operators' writes included: their answers are lost too). Each rollout is driven
//! the way the state machine drives the shifter: the same input again on a retryable error,
//! the next state otherwise. The figures are printed and the invariants asserted: nothing
//! stranded, no alert lost, no step past a pause, every operator request applied once and
//! told once.

use std::cell::RefCell;
use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::StateValue;
use rollout_core::engine::control::Operator;
use rollout_core::{Rollout, Status};
use rollout_testkit::faults::{Fault, Matcher};
use rollout_usecases::driver::{new_rollout_id, ControlError, ControlRequest, DriveError, Stepped};
use rollout_usecases::readiness::ReadyWait;

use rollout_testkit::fixture::kept;

use crate::{t, Faulty};

const ROLLOUTS: usize = 16;
const SEED: u64 = 0x5eed_2026;
/// How many times a driver tries the same input again, as a Step Functions `Retry` would.
const RETRIES: usize = 8;

#[derive(Default, Debug)]
struct Figures {
    promoted: usize,
    rolled_back: usize,
    refused: usize,
    failed: usize,
    stranded: usize,
    alerts_lost: usize,
    duplicates_dropped: usize,
    paused: usize,
    advanced_while_paused: usize,
    promoted_by_operator: usize,
    promote_applied_twice: usize,
    operator_alerts_wrong: usize,
    provisioned: usize,
}

/// One call of the driver, tried again on what a state machine retries (AWS unavailable, a
/// notification that failed after the alias was safe).
async fn again_and_again<F>(mut call: F) -> Result<Stepped, DriveError>
where
    F: AsyncFnMut() -> Result<Stepped, DriveError>,
{
    let mut last = None;
    for _ in 0..RETRIES {
        match call().await {
            Ok(stepped) if stepped.warning.is_none() => return Ok(stepped),
            Ok(stepped) => last = Some(Ok(stepped)),
            Err(DriveError::Alias(e)) if e.is_transient() => last = Some(Err(DriveError::Alias(e))),
            Err(other) => return Err(other),
        }
    }
    last.expect("tried at least once")
}

/// An operator's request, tried again on an error as a person would; whether the alias now
/// carries it. The same request again after an attempt whose answer was lost is recognised
/// (not refused); a refusal ends the tries.
async fn operate(f: &Faulty, function: &str, op: Operator, at: i64) -> bool {
    for _ in 0..RETRIES {
        let request = ControlRequest {
            function,
            alias: "live",
            op,
            reason: "looking into it",
            topic: Some(&f.world.topic_arn),
        };
        match f.driver().control(request, t(at)).await {
            Ok(_) => return true,
            Err(ControlError::Refused(why)) => {
                eprintln!("{function}: {} refused: {why}", op.verb());
                return false;
            }
            Err(e) => eprintln!("{function}: {} failed: {e}", op.verb()),
        }
    }
    false
}

#[tokio::test]
async fn seeded_random_faults_never_strand_traffic_or_lose_alerts() {
    let f = Faulty::new().await;
    let mut alarms = Vec::new();
    for i in 0..ROLLOUTS {
        alarms.push(f.function(&format!("fn{i}")).await);
    }
    let faults = [
        Fault::Throttle,
        Fault::ServerError(503),
        Fault::Drop,
        Fault::LoseAnswer,
    ];
    f.proxy.random(SEED, 0.3, &faults, Matcher::any(), Some(4));
    let figures = RefCell::new(Figures::default());
    let ended: RefCell<BTreeMap<String, Rollout>> = RefCell::new(BTreeMap::new());
    // The functions an operator promoted (the request landed, as far as it knows).
    let promoted = RefCell::new(Vec::new());
    // Two lanes of rollouts at once, as two pipelines would run them: each waits mostly on
    // backoffs, and one lane alone was most of the fault suite's time.
    let lane = async |lane: usize| {
        for (i, alarm) in alarms.iter().enumerate().filter(|(i, _)| i % 2 == lane) {
            let function = format!("fn{i}");
            // A quarter are promoted out of an hour's hold: a promote applied twice would cut
            // the next hour short too.
            let promoting = i % 4 == 3;
            let strategy = if promoting {
                "20%:1h,50%:1h"
            } else {
                "20%:1m,50%:1m"
            };
            let spec = f.spec(&function, strategy).alarms([alarm]);
            let breach = i % 3 == 0;
            if i % 6 == 4 {
                figures.borrow_mut().provisioned += 1;
                f.world.provision(&function, 10).await;
            }
            let id = new_rollout_id(t(i as i64 * 1000));
            let mut rollout = match again_and_again(async || {
                f.driver()
                    .start(
                        &spec,
                        id.clone(),
                        t(0),
                        &ReadyWait::up_to(std::time::Duration::from_secs(30)),
                    )
                    .await
            })
            .await
            {
                Ok(stepped) => stepped.rollout,
                Err(e) => {
                    eprintln!("fn{i}: refused: {e}");
                    figures.borrow_mut().refused += 1;
                    continue;
                }
            };
            let mut now = 0;
            let mut operated = i % 4 != 1;
            let mut promote_pending = promoting;
            // When the rollout reached step 1 (after the promote), to see its hold kept whole.
            let mut step1_at = None;
            let mut last_step = rollout.step_index;
            // While paused: the step it was paused at, and the checks since.
            let mut paused: Option<(usize, u32)> = None;
            while !rollout.status.is_terminal() {
                // An hour's hold is walked through in tenths.
                now += if promoting && !promote_pending {
                    600
                } else {
                    60
                };
                if rollout.provisioned_concurrency == Some(rollout_core::Provisioning::Allocating)
                    && rollout.step_index != last_step
                {
                    // Lambda is still allocating the new weights for the next two reads.
                    let name = format!("/functions/{function}/");
                    let matcher = Matcher::operation("GetProvisionedConcurrencyConfig")
                        .when(move |r| r.path().contains(&name));
                    f.proxy.fail(matcher, crate::ALLOCATING, 2);
                }
                last_step = rollout.step_index;
                if promote_pending && rollout.step_index == 0 {
                    promote_pending = false;
                    let op = Operator::Promote { full: false };
                    if operate(&f, &function, op, now).await {
                        figures.borrow_mut().promoted_by_operator += 1;
                        promoted.borrow_mut().push(function.clone());
                    }
                }
                if breach && rollout.step_index == 1 {
                    f.world.set_alarm(alarm, StateValue::Alarm).await;
                }
                if !operated && rollout.step_index == 1 {
                    operated = true;
                    if operate(&f, &function, Operator::Pause, now).await {
                        figures.borrow_mut().paused += 1;
                        paused = Some((1, 0));
                    }
                }
                if let Some((_, checks)) = paused.filter(|(_, checks)| *checks >= 2) {
                    if operate(&f, &function, Operator::Resume, now).await {
                        paused = None;
                    } else {
                        paused = paused.map(|(step, _)| (step, checks));
                    }
                }
                let input = rollout.clone();
                rollout =
                    match again_and_again(async || f.driver().step(&input, t(now)).await).await {
                        Ok(stepped) => stepped.rollout,
                        // Still unavailable after a state machine's retries: its Catch aborts.
                        Err(e) => {
                            eprintln!("fn{i}: step failed for good: {e}");
                            let mut failed = input.clone();
                            failed.end(Status::Failed, e.to_string());
                            failed
                        }
                    };
                if rollout.step_index == 1 && step1_at.is_none() {
                    step1_at = Some(now);
                }
                if promoting && rollout.step_index == 2 || rollout.status == Status::Succeeded {
                    if let Some(at) = step1_at.filter(|_| promoting) {
                        if now - at < 3600 {
                            eprintln!("{function}: step 1 held {}s of its hour", now - at);
                            figures.borrow_mut().promote_applied_twice += 1;
                        }
                        step1_at = Some(i64::MAX / 2);
                    }
                }
                if let Some((step, checks)) = &mut paused {
                    let moved_on = match rollout.status {
                        Status::InProgress => rollout.step_index != *step,
                        status => status == Status::Succeeded,
                    };
                    if moved_on {
                        eprintln!("{function}: advanced while paused: {rollout:?}");
                        figures.borrow_mut().advanced_while_paused += 1;
                    }
                    *checks += 1;
                }
            }
            match rollout.status {
                Status::Succeeded => figures.borrow_mut().promoted += 1,
                Status::RolledBack => figures.borrow_mut().rolled_back += 1,
                _ => figures.borrow_mut().failed += 1,
            }
            ended.borrow_mut().insert(function, rollout);
        }
    };
    tokio::join!(lane(0), lane(1));
    let mut figures = figures.into_inner();
    let ended = ended.into_inner();
    let promoted = promoted.into_inner();
    let faulted = f.proxy.log().iter().filter(|c| c.fault.is_some()).count();
    let calls = f.proxy.log().len();
    f.proxy.clear();

    let delivered = f.world.notifications().await;
    let kept = kept(&delivered);
    figures.duplicates_dropped = delivered.len() - kept.len();
    for function in &promoted {
        let told = kept
            .iter()
            .filter(|n| n["functionName"] == function.as_str() && n["event"] == "rollout.promoted")
            .count();
        if told != 1 {
            eprintln!("{function}: rollout.promoted kept {told} times");
            figures.operator_alerts_wrong += 1;
        }
    }
    for (function, rollout) in &ended {
        let alias = f.world.alias(function).await;
        if alias.routing.is_some() {
            eprintln!("{function}: left split: {alias:?} ({:?})", rollout.status);
            figures.stranded += 1;
        }
        let owed = match rollout.status {
            Status::Succeeded => "rollout.succeeded",
            Status::RolledBack => "rollout.rolled_back",
            _ => "rollout.failed",
        };
        let told = kept.iter().any(|n| {
            n["functionName"] == function.as_str()
                && n["event"] == owed
                && n["rolloutId"] == rollout.rollout_id.as_str()
        });
        if !told {
            eprintln!("{function}: no {owed} kept by the subscriber");
            figures.alerts_lost += 1;
        }
        if rollout.status == Status::RolledBack {
            let reason = kept
                .iter()
                .find(|n| n["functionName"] == function.as_str() && n["event"] == owed)
                .and_then(|n| n["reason"].as_str())
                .unwrap_or_default();
            assert!(
                reason.contains(&format!("{function}-errors")),
                "{function}: the real reason, not {reason:?}"
            );
        }
    }
    println!(
        "fault suite, seed {SEED:#x}: {ROLLOUTS} rollouts, {calls} AWS calls, {faulted} faulted ({:.0}%): {figures:?}",
        100.0 * faulted as f64 / calls.max(1) as f64
    );
    assert_eq!(figures.stranded, 0, "{figures:?}");
    assert_eq!(figures.alerts_lost, 0, "{figures:?}");
    assert_eq!(figures.advanced_while_paused, 0, "{figures:?}");
    assert_eq!(figures.promote_applied_twice, 0, "{figures:?}");
    assert_eq!(figures.operator_alerts_wrong, 0, "{figures:?}");
    assert!(
        figures.promoted_by_operator >= ROLLOUTS / 8,
        "operators promoted: {figures:?}"
    );
    assert!(
        figures.paused >= ROLLOUTS / 8,
        "operators acted: {figures:?}"
    );
    assert_eq!(
        figures.promoted + figures.rolled_back + figures.refused + figures.failed,
        ROLLOUTS
    );
    assert!(
        figures.rolled_back >= ROLLOUTS / 3 - figures.refused,
        "{figures:?}"
    );
}
