//! `rollout run`: start a rollout and drive it to its end, checking alarms every few seconds
//! while a step holds so that a breach rolls back within seconds, not at the end of a hold.

use std::time::Duration;

use chrono::Utc;
use rollout_core::state::Control;
use rollout_core::Rollout;
use rollout_usecases::driver::{new_rollout_id, DriveError, Stepped};
use rollout_usecases::readiness::ReadyWait;

use crate::args::{as_flags, poll_seconds, Global, Output, RunArgs};
use crate::exit::{for_status, CommandError, INTERRUPTED, TERMINATED};
use crate::plan::{analysis_arg, bake_seconds};
use crate::progress::Progress;

pub async fn run(args: RunArgs, global: &Global) -> Result<i32, CommandError> {
    let poll = poll_seconds(&args.poll)?;
    let mut spec = args.target.spec(
        args.topic.clone(),
        Some(bake_seconds(args.bake.as_deref())?).filter(|b| *b > 0),
    );
    spec.analysis = analysis_arg(args.analysis.as_deref())?;
    let plan = spec.validate().map_err(as_flags)?;
    let wait_limit = args.target.wait_ready()?;
    let adapters = crate::aws::adapters(global).await?;
    let driver = adapters.driver("rollout-cli", &[], None);
    let mut progress = Progress::new(plan, global.output == Output::Json, global.quiet);

    let now = Utc::now();
    let rollout_id = new_rollout_id(now);
    // Signals are taken from the start on: a start can wait minutes for a Pending version,
    // then write, and a CI job cancelled meanwhile must not leave a split unannounced.
    let mut stop = Stop::listen();
    let started = {
        let tell = |line: &str| progress.note(line);
        let ready = ReadyWait {
            limit: wait_limit,
            on_wait: &tell,
        };
        tokio::select! {
            started = driver.start(&spec, rollout_id.clone(), now, &ready) => Ok(started),
            signal = stop.received() => Err(signal),
        }
    };
    let started = match started {
        Ok(started) => started,
        Err(signal) => {
            // The first write may have landed: the alias's marker says whether it did.
            let alias = driver
                .aliases
                .get(&spec.function_name, &spec.alias)
                .await
                .ok();
            let marker = alias.as_ref().and_then(|a| a.marker());
            return match (marker, alias) {
                (Some(m), Some(alias)) if m.rollout_id == rollout_id && m.describes(&alias) => {
                    let mut at_start = Rollout::started(
                        &spec,
                        &plan_of(&spec)?,
                        rollout_id,
                        m.from_version.clone(),
                        false,
                        Utc::now(),
                    );
                    at_start.reason = None;
                    let rollout = at_start.replayed(&m, &plan_of(&spec)?, &alias, Utc::now());
                    Ok(stopped_by(signal, &driver, &progress, &rollout).await)
                }
                _ => {
                    eprintln!("stopped before the first shift: the alias is untouched");
                    Ok(match signal {
                        Signal::Interrupt => INTERRUPTED,
                        Signal::Terminate => TERMINATED,
                    })
                }
            };
        }
    };
    let mut rollout = carry_on(started)?;
    progress.show(&rollout);
    while !rollout.status.is_terminal() {
        let due = rollout
            .next_step_at
            .map_or(0, |at| (at - Utc::now()).num_milliseconds().max(0) as u64);
        // Past due and still holding: a step extended for too few calls is judged each poll,
        // and a paused one checked each poll for a breach, a resume or a promote.
        let extended = due == 0 && rollout.last_judgement.is_some();
        let extended = extended || rollout.control == Some(Control::Paused);
        let wait = Duration::from_millis(if extended {
            poll * 1000
        } else {
            due.min(poll * 1000)
        });
        // A signal is taken at once, also in the middle of an AWS call; the alias keeps the
        // marker of the last write, so the same command resumes where it was.
        let step = tokio::select! {
            _ = progress.tick_for(&rollout, wait) => None,
            signal = stop.received() => Some(signal),
        };
        if let Some(signal) = step {
            return Ok(stopped_by(signal, &driver, &progress, &rollout).await);
        }
        let result = {
            let step = driver.step(&rollout, Utc::now());
            tokio::pin!(step);
            tokio::select! {
                result = &mut step => result,
                signal = stop.received() => {
                    // A rollback under way is finished first: stopping it would leave traffic
                    // on the version whose breach it answers. A second signal stops it anyway.
                    let Some(why) = driver.rolling_back.why() else {
                        return Ok(stopped_by(signal, &driver, &progress, &rollout).await);
                    };
                    progress.note(&format!(
                        "{}: putting the alias back on version {} first ({}); a second signal stops that and leaves traffic split",
                        signal.name(),
                        rollout.spec.current_version.as_deref().unwrap_or("?"),
                        why,
                    ));
                    tokio::select! {
                        result = &mut step => result,
                        second = stop.received() => {
                            return Ok(rollback_interrupted(second, &driver, &mut progress, &rollout, &why).await)
                        }
                    }
                }
            }
        };
        rollout = match carry_on(result) {
            Ok(next) => next,
            // AWS is throttling or failing for now: nothing moved; keep watching.
            Err(DriveError::Alias(e)) if e.is_transient() => {
                eprintln!("warning: {e}; still watching, trying again");
                continue;
            }
            // Anything else once the rollout has started: people are told where the alias
            // was left before the command ends (no split is left unannounced).
            Err(e) => {
                let failed = driver
                    .report_failure(&rollout, e.to_string(), Utc::now())
                    .await;
                progress.show(&failed);
                progress.line_for_resume(&failed);
                return Err(e.into());
            }
        };
        progress.show(&rollout);
    }
    progress.finish(&rollout);
    if global.output == Output::Json {
        out!(
            "{}",
            serde_json::to_string_pretty(&rollout).expect("state serializes")
        );
    }
    Ok(for_status(rollout.status))
}

/// A failed SNS publish happens after the alias write: warn, and keep driving the rollout so
/// traffic is never left split with no one watching it.
fn carry_on(result: Result<Stepped, DriveError>) -> Result<rollout_core::Rollout, DriveError> {
    let stepped = result?;
    if let Some(warning) = stepped.warning {
        eprintln!("warning: {warning}; the rollout goes on");
    }
    Ok(stepped.rollout)
}

/// A signal that stops `rollout run`.
enum Signal {
    /// Ctrl-C: a person at the terminal, who reads the hint.
    Interrupt,
    /// SIGTERM: a cancelled CI job or a stopped container.
    Terminate,
}

impl Signal {
    fn name(&self) -> &'static str {
        match self {
            Signal::Interrupt => "Ctrl-C",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// Listens for Ctrl-C and SIGTERM for the whole run.
struct Stop {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Stop {
    fn listen() -> Stop {
        Stop {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .ok(),
        }
    }

    async fn received(&mut self) -> Signal {
        #[cfg(unix)]
        let terminate = async {
            match &mut self.terminate {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Signal::Interrupt,
            _ = terminate => Signal::Terminate,
        }
    }
}

/// The plan a spec names (already checked once, so this only re-derives it).
fn plan_of(spec: &rollout_core::Spec) -> Result<rollout_core::Plan, CommandError> {
    Ok(spec.validate().map_err(as_flags)?)
}

/// Leaves the alias as it is and ends: Ctrl-C (a person at the terminal) reads the hint;
/// SIGTERM (a cancelled CI job, a stopped container) also tells people, since no one is
/// there to read it. Returns the exit code.
async fn stopped_by(
    signal: Signal,
    driver: &rollout_usecases::driver::Driver<'_>,
    progress: &Progress,
    rollout: &Rollout,
) -> i32 {
    match signal {
        Signal::Interrupt => {
            progress.interrupted(rollout);
            INTERRUPTED
        }
        Signal::Terminate => {
            let reason = format!(
                "rollout run was stopped (SIGTERM) with {} on version {}; no one is driving it. Run the same command again to resume, or `rollout abort --function {} --alias {}`",
                rollout_core::plan::format_percent(rollout.weight),
                rollout.spec.target_version,
                rollout.spec.function_name,
                rollout.spec.alias
            );
            let stopped = driver.report_failure(rollout, reason, Utc::now()).await;
            progress.terminated(&stopped);
            TERMINATED
        }
    }
}

/// A second signal stopped a rollback half-way: people are told (whichever the signal) that
/// a rollback was interrupted, why it was rolling back, where traffic is as far as one quick
/// read of the alias tells, and the command that finishes it. Returns the exit code.
async fn rollback_interrupted(
    signal: Signal,
    driver: &rollout_usecases::driver::Driver<'_>,
    progress: &mut Progress,
    rollout: &Rollout,
    why: &str,
) -> i32 {
    let spec = &rollout.spec;
    let read = tokio::time::timeout(
        Duration::from_secs(3),
        driver.aliases.get(&spec.function_name, &spec.alias),
    )
    .await;
    let traffic = match read {
        Ok(Ok(alias)) => format!("the alias is on {}", rollout_core::alias::describe_alias(&alias)),
        _ => format!(
            "traffic may still be split ({} on version {} when the rollback began; the alias could not be read)",
            rollout_core::plan::format_percent(rollout.weight),
            spec.target_version
        ),
    };
    let reason = format!(
        "rollout run was stopped ({}) while rolling back; the rollback was interrupted. Why it was rolling back: {why}. Now {traffic}. Run `rollout abort --function {} --alias {}` to put it back on version {}",
        signal.name(),
        spec.function_name,
        spec.alias,
        spec.current_version.as_deref().unwrap_or("?"),
    );
    let stopped = driver.report_failure(rollout, reason, Utc::now()).await;
    progress.show(&stopped);
    progress.finish(&stopped);
    match signal {
        Signal::Interrupt => INTERRUPTED,
        Signal::Terminate => TERMINATED,
    }
}
