//! `rollout run`: start a rollout and drive it to its end, checking alarms every few seconds
//! while a step holds so that a breach rolls back within seconds, not at the end of a hold.

use std::time::Duration;

use chrono::Utc;
use rollout_aws::{load_config, Adapters};
use rollout_core::plan::parse_hold;
use rollout_core::{InvalidField, Refusal};
use rollout_usecases::driver::{new_rollout_id, DriveError, Stepped};
use rollout_usecases::readiness::ReadyWait;

use crate::args::{as_flags, Output, RunArgs};
use crate::exit::{for_status, CommandError, INTERRUPTED};
use crate::plan::bake_seconds;
use crate::progress::Progress;

pub async fn run(args: RunArgs) -> Result<i32, CommandError> {
    let poll = parse_hold(&args.poll)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            InvalidField::new(
                "--poll",
                format!("{:?} must be a duration of at least 1s", args.poll),
            )
        })?;
    let spec = args.target.spec(
        args.topic.clone(),
        Some(bake_seconds(args.bake.as_deref())?).filter(|b| *b > 0),
    );
    let plan = spec.validate().map_err(as_flags)?;
    let wait_limit = args.target.wait_ready()?;
    let adapters = Adapters::new(&load_config().await);
    let driver = adapters.driver("rollout-cli", &[], None);
    let mut progress = Progress::new(plan, args.output == Output::Json);

    let now = Utc::now();
    let started = {
        let tell = |line: &str| progress.note(line);
        let ready = ReadyWait {
            limit: wait_limit,
            on_wait: &tell,
        };
        driver.start(&spec, new_rollout_id(now), now, &ready).await
    };
    let mut rollout = carry_on(started)?;
    progress.show(&rollout);
    while !rollout.status.is_terminal() {
        let due = rollout
            .next_step_at
            .map_or(0, |at| (at - Utc::now()).num_milliseconds().max(0) as u64);
        let wait = Duration::from_millis(due.min(poll * 1000));
        tokio::select! {
            _ = progress.tick_for(&rollout, wait) => {}
            _ = tokio::signal::ctrl_c() => {
                progress.interrupted(&rollout);
                return Ok(INTERRUPTED);
            }
        }
        rollout = match carry_on(driver.step(&rollout, Utc::now()).await) {
            Ok(next) => next,
            Err(DriveError::Alias(e)) => {
                let failed = driver
                    .report_failure(&rollout, e.to_string(), Utc::now())
                    .await;
                progress.show(&failed);
                progress.line_for_resume(&failed);
                return Err(DriveError::Alias(e).into());
            }
            Err(other) => return Err(as_flags_in(other).into()),
        };
        progress.show(&rollout);
    }
    progress.finish(&rollout);
    if args.output == Output::Json {
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
    let stepped = result.map_err(as_flags_in)?;
    if let Some(warning) = stepped.warning {
        eprintln!("warning: notification not published: {warning}; the rollout goes on");
    }
    Ok(stepped.rollout)
}

/// The same error, naming flags instead of spec fields.
pub fn as_flags_in(e: DriveError) -> DriveError {
    match e {
        DriveError::Invalid(f) => DriveError::Invalid(as_flags(f)),
        DriveError::Refused(Refusal::Invalid(f)) => DriveError::Invalid(as_flags(f)),
        other => other,
    }
}
