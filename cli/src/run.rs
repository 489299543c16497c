//! `rollout run`: start a rollout and drive it to its end, checking alarms every few seconds
//! while a step holds so that a breach rolls back within seconds, not at the end of a hold.

use std::cell::RefCell;
use std::time::Duration;

use chrono::Utc;
use rollout_core::Rollout;
use rollout_usecases::announce::Announcer;
use rollout_usecases::driver::{new_rollout_id, DriveError, Pacer, Stepped};
use rollout_usecases::readiness::ReadyWait;

use crate::args::{as_flags, poll_seconds, Global, Output, RunArgs};
use crate::exit::{for_status, CommandError, INTERRUPTED, TERMINATED};
use crate::plan::{analysis_arg, bake_seconds};
use crate::progress::Progress;

pub async fn run(args: RunArgs, global: &Global) -> Result<i32, CommandError> {
    if let Some(set) = args.target.set.clone() {
        return crate::run_set::run_set(args, &set, global).await;
    }
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
                    let rollout =
                        driver.resumed_from(&spec, &plan_of(&spec)?, &m, &alias, false, Utc::now());
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
    let rollout = carry_on(started)?;
    progress.show(&rollout);
    let from_version = rollout.spec.current_version.clone().unwrap_or_default();
    let progress = RefCell::new(progress);
    let mut pacer = Watching {
        progress: &progress,
        announcer: &driver.announcer,
        last: rollout.clone(),
    };
    let ended = {
        let run = driver.run_until_end(rollout, &mut pacer, Some(Duration::from_secs(poll)));
        stop.or_signal(run, &driver.rolling_back, |signal, why| {
            progress.borrow().note(&format!(
                "{}: putting the alias back on version {} first ({why}); a second signal stops that and leaves traffic split",
                signal.name(),
                from_version,
            ))
        })
        .await
    };
    let last = pacer.last;
    let mut progress = progress.into_inner();
    let rollout = match ended {
        Ok(Ok(rollout)) => rollout,
        Err((signal, None)) => return Ok(stopped_by(signal, &driver, &progress, &last).await),
        Err((signal, Some(why))) => {
            return Ok(rollback_interrupted(signal, &driver, &mut progress, &last, &why).await)
        }
        // Anything else once the rollout has started: people are told where the alias was
        // left before the command ends (no split is left unannounced).
        Ok(Err((last, e))) => {
            let failed = driver
                .report_failure(&last, e.to_string(), Utc::now())
                .await;
            progress.show(&failed);
            progress.line_for_resume(&failed);
            return Err(e.into());
        }
    };
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

/// The command's pacer: real time, with the progress display ticking while a step holds, and
/// the rollout as it last stood (what a signal reports).
pub(crate) struct Watching<'p> {
    pub(crate) progress: &'p RefCell<Progress>,
    /// Where a webhook's failures are noted (they fail no step).
    pub(crate) announcer: &'p Announcer<'p>,
    pub(crate) last: Rollout,
}

#[async_trait::async_trait(?Send)]
impl Pacer for Watching<'_> {
    fn now(&self) -> chrono::DateTime<Utc> {
        Utc::now()
    }

    async fn wait(&mut self, rollout: &Rollout, wait: Duration) {
        let ticker = self.progress.borrow().ticker();
        ticker.tick_for(rollout, wait).await;
    }

    fn stepped(&mut self, stepped: &Stepped) {
        // A failed SNS publish happens after the alias write: warn, and keep driving the
        // rollout so traffic is never left split with no one watching it.
        if let Some(warning) = &stepped.warning {
            eprintln!("warning: {warning}; the rollout goes on");
        }
        for note in self.announcer.take_notes() {
            eprintln!("warning: {}, but {note}", stepped.rollout.status.as_str());
        }
        self.progress.borrow_mut().show(&stepped.rollout);
        self.last = stepped.rollout.clone();
    }

    fn retrying(&mut self, error: &DriveError) {
        // AWS is throttling or failing for now: nothing moved; keep watching.
        eprintln!("warning: {error}; still watching, trying again");
    }
}

/// A signal that stops `rollout run`.
pub(crate) enum Signal {
    /// Ctrl-C: a person at the terminal, who reads the hint.
    Interrupt,
    /// SIGTERM: a cancelled CI job or a stopped container.
    Terminate,
}

impl Signal {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Signal::Interrupt => "Ctrl-C",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// Listens for Ctrl-C and SIGTERM for the whole run.
pub(crate) struct Stop {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Stop {
    /// `run` to its end, unless a signal comes first: then `Err` with the signal, and with
    /// why a rollback was under way when one was. A signal is taken at once, also in the
    /// middle of an AWS call (the aliases keep the marker of the last write, so the same
    /// command resumes where it was); a rollback under way is finished first (`first_signal`
    /// says so), since stopping it would leave traffic on what it answers; a second signal
    /// stops it anyway.
    pub(crate) async fn or_signal<T>(
        &mut self,
        run: impl std::future::Future<Output = T>,
        rolling_back: &rollout_usecases::driver::RollingBack,
        first_signal: impl Fn(&Signal, &str),
    ) -> Result<T, (Signal, Option<String>)> {
        tokio::pin!(run);
        tokio::select! {
            ended = &mut run => Ok(ended),
            signal = self.received() => match rolling_back.why() {
                Some(why) => {
                    first_signal(&signal, &why);
                    tokio::select! {
                        ended = &mut run => Ok(ended),
                        second = self.received() => Err((second, Some(why))),
                    }
                }
                None => Err((signal, None)),
            },
        }
    }

    pub(crate) fn listen() -> Stop {
        Stop {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .ok(),
        }
    }

    pub(crate) async fn received(&mut self) -> Signal {
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
