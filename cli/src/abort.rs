//! `rollout abort`: put a split alias back on its current version now, and tell people.

use rollout_core::EventKind;
use rollout_usecases::driver::{StopRequest, StopScope};

use crate::args::{AbortArgs, Global, Output};
use crate::exit::{CommandError, PROMOTED};

pub async fn abort(args: &AbortArgs, global: &Global) -> Result<i32, CommandError> {
    let topic = args.topic.as_deref();
    let adapters =
        crate::aws::operator_adapters(global, &args.function, &args.alias, topic).await?;
    let driver = adapters.driver("rollout-cli", &[], None);
    let now = chrono::Utc::now();
    let stopped = driver
        .stop(
            StopRequest {
                function: &args.function,
                alias: &args.alias,
                kind: EventKind::Aborted,
                reason: &args.reason,
                topic,
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
