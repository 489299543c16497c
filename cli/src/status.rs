//! `rollout plan`, `rollout status` and `rollout abort`: one-shot commands.

use rollout::aws::alias::AliasStore;
use rollout::aws::notify::EventKind;
use rollout::aws::{load_config, Adapters};
use rollout::driver::StopRequest;
use rollout::engine::describe_alias;
use rollout::plan::{format_seconds, parse_hold};
use rollout::{InvalidField, Plan};
use serde_json::json;

use crate::args::{AbortArgs, AliasArgs, Output, PlanArgs};
use crate::exit::{Failure, PROMOTED};

pub fn plan(args: &PlanArgs) -> Result<i32, Failure> {
    let bake = bake_seconds(args.bake.as_deref())?;
    let plan = Plan::parse(&args.strategy, bake).map_err(|e| Failure::Invalid(e.to_string()))?;
    match args.output {
        Output::Json => out!(
            "{}",
            serde_json::to_string_pretty(&plan).expect("plan serializes")
        ),
        Output::Text => out!("{plan}"),
    }
    Ok(PROMOTED)
}

pub fn bake_seconds(bake: Option<&str>) -> Result<u64, Failure> {
    bake.map(|b| parse_hold(b).map_err(|why| InvalidField::new("--bake", format!("{b:?} {why}"))))
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(Failure::from)
}

pub async fn status(args: &AliasArgs) -> Result<i32, Failure> {
    rollout::state::check_function_name(&args.function)?;
    rollout::state::check_alias(&args.alias)?;
    let adapters = Adapters::new(&load_config().await);
    let alias = adapters
        .aliases
        .get(&args.function, &args.alias)
        .await
        .map_err(rollout::driver::DriveError::from)?;
    let marker = alias.marker();
    match args.output {
        Output::Json => {
            let rollout = marker.as_ref().map(|m| {
                json!({"rolloutId": m.rollout_id, "fromVersion": m.from_version, "toVersion": m.to_version,
                       "stepIndex": m.step_index, "status": m.status, "nextStepAt": m.next_step_at})
            });
            let routing = alias
                .routing
                .as_ref()
                .map(|(v, w)| json!({"version": v, "weight": w}));
            let out = json!({"functionName": args.function, "alias": args.alias, "version": alias.version,
                             "routing": routing, "aliasRevisionId": alias.revision_id, "rollout": rollout});
            out!(
                "{}",
                serde_json::to_string_pretty(&out).expect("status serializes")
            );
        }
        Output::Text => {
            out!(
                "{}:{} → {}",
                args.function,
                args.alias,
                describe_alias(&alias)
            );
            match marker {
                Some(m) => {
                    let next = m.next_step_at.map(|at| {
                        let left = (at - chrono::Utc::now()).num_seconds().max(0) as u64;
                        format!(", next step in {}", format_seconds(left))
                    });
                    out!(
                        "rollout {} ({} -> {}): {} at step {}{}",
                        m.rollout_id,
                        m.from_version,
                        m.to_version,
                        m.status.as_str(),
                        m.step_index + 1,
                        next.unwrap_or_default()
                    );
                }
                None => out!("no rollout recorded on this alias"),
            }
        }
    }
    Ok(PROMOTED)
}

pub async fn abort(args: &AbortArgs) -> Result<i32, Failure> {
    rollout::state::check_function_name(&args.function)?;
    rollout::state::check_alias(&args.alias)?;
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
                only_to_version: None,
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
