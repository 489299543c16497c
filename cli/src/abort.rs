//! `rollout abort`: put a split alias back on its current version now, and tell people.

use rollout_aws::{load_config, Adapters};
use rollout_core::validate::{check_alias, check_function_name};
use rollout_core::EventKind;
use rollout_usecases::driver::{StopRequest, StopScope};

use crate::args::AbortArgs;
use crate::exit::{CommandError, PROMOTED};

pub async fn abort(args: &AbortArgs) -> Result<i32, CommandError> {
    check_function_name(&args.function)?;
    check_alias(&args.alias)?;
    let adapters = Adapters::new(&load_config().await);
    let driver = adapters.driver("rollout-cli", &[], None);
    let now = chrono::Utc::now();
    let stopped = driver
        .stop(
            StopRequest {
                function: &args.function,
                alias: &args.alias,
                kind: EventKind::Aborted,
                reason: &args.reason,
                topic: args.topic.as_deref(),
                alarms: Vec::new(),
                scope: StopScope::AnySplit,
            },
            now,
        )
        .await?;
    match (&stopped.restored_version, &stopped.stopped_version) {
        (Some(restored), Some(from)) => out!(
            "{}:{} aborted: back on version {restored} (was moving to {from})",
            args.function,
            args.alias
        ),
        _ => out!("{}", stopped.reason),
    }
    Ok(PROMOTED)
}
