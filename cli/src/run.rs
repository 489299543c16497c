//! `rollout run`: start a rollout and drive it to its end, checking alarms every few seconds
//! while a step holds so that a breach rolls back within seconds, not at the end of a hold.

use std::time::Duration;

use chrono::Utc;
use rollout::aws::{load_config, Adapters};
use rollout::driver::{new_rollout_id, DriveError};
use rollout::plan::parse_hold;
use rollout::{InvalidField, Spec};

use crate::args::{Output, RunArgs};
use crate::exit::{for_status, Failure, INTERRUPTED};
use crate::progress::Progress;
use crate::status::bake_seconds;

pub async fn run(args: RunArgs) -> Result<i32, Failure> {
    let poll = parse_hold(&args.poll)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            InvalidField::new(
                "poll",
                format!("{:?} must be a duration of at least 1s", args.poll),
            )
        })?;
    let spec = Spec {
        function_name: args.function.clone(),
        alias: args.alias.clone(),
        target_version: args.to.clone(),
        current_version: args.from.clone(),
        strategy: args.strategy.clone(),
        alarms: args.alarms.clone(),
        notification_topic_arn: args.topic.clone(),
        bake_time: Some(bake_seconds(args.bake.as_deref())?).filter(|b| *b > 0),
    };
    let plan = spec.validate()?;
    let adapters = Adapters::new(&load_config().await);
    let driver = adapters.driver("rollout-cli", &[], None);
    let mut progress = Progress::new(plan, args.output == Output::Json);

    let now = Utc::now();
    let mut rollout = driver.start(&spec, new_rollout_id(now), now).await?;
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
        rollout = match driver.step(&rollout, Utc::now()).await {
            Ok(next) => next,
            Err(DriveError::Alias(e)) => {
                let failed = driver
                    .report_failure(&rollout, e.to_string(), Utc::now())
                    .await;
                progress.show(&failed);
                progress.line_for_resume(&failed);
                return Err(DriveError::Alias(e).into());
            }
            Err(other) => return Err(other.into()),
        };
        progress.show(&rollout);
    }
    progress.finish(&rollout);
    if args.output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rollout).expect("state serializes")
        );
    }
    Ok(for_status(rollout.status))
}
