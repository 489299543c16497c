//! `rollout abort`: put a split alias back on its current version now, and tell people.

use rollout_aws::{load_config, Adapters};
use rollout_core::validate::{check_alias, check_function_name, check_topic_arn};
use rollout_core::EventKind;
use rollout_core::InvalidField;
use rollout_usecases::driver::{StopRequest, StopScope};

use crate::args::{as_flags, AbortArgs};
use crate::exit::{CommandError, PROMOTED};

pub async fn abort(args: &AbortArgs) -> Result<i32, CommandError> {
    check_function_name(&args.function).map_err(as_flags)?;
    check_alias(&args.alias).map_err(as_flags)?;
    if let Some(topic) = &args.topic {
        check_topic_arn("--topic", topic)?;
    }
    let adapters = Adapters::new(&load_config().await);
    let driver = adapters.driver("rollout-cli", &[], None);
    // A topic that cannot be published to is refused before the alias is touched.
    if let Some(topic) = &args.topic {
        driver
            .topic_usable(topic)
            .await
            .map_err(|why| InvalidField::new("--topic", why))?;
    }
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
    if let Some(warning) = &stopped.warning {
        eprintln!("warning: {warning}");
    }
    Ok(PROMOTED)
}
