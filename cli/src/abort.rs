//! `rollout abort`: put a split alias back on its current version now, and tell people.

use rollout_core::validate::{check_alias, check_function_name, check_topic_arn};
use rollout_core::EventKind;
use rollout_core::InvalidField;
use rollout_usecases::driver::{StopRequest, StopScope};

use crate::args::{as_flags, AbortArgs, Global, Output};
use crate::exit::{CommandError, PROMOTED};

pub async fn abort(args: &AbortArgs, global: &Global) -> Result<i32, CommandError> {
    check_function_name(&args.function).map_err(as_flags)?;
    check_alias(&args.alias).map_err(as_flags)?;
    if let Some(topic) = &args.topic {
        check_topic_arn("--topic", topic)?;
    }
    let adapters = crate::aws::adapters(global).await?;
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
    if let Some(warning) = &stopped.warning {
        eprintln!("warning: {warning}");
    }
    match (
        global.output,
        &stopped.restored_version,
        &stopped.stopped_version,
    ) {
        (Output::Json, ..) => out!(
            "{}",
            serde_json::to_string_pretty(&stopped).expect("the stop serializes")
        ),
        (Output::Text, Some(restored), Some(from)) => out!(
            "{}:{} aborted: back on version {restored} (was moving to {from})",
            args.function,
            args.alias
        ),
        (Output::Text, ..) => out!("{}", stopped.reason),
    }
    Ok(PROMOTED)
}
