//! `rollout abort`: put a split alias back on its current version now, and tell people. On a
//! member of a release set, every member goes back (a member someone else changed is left as
//! it is), told once for the set.

use rollout_aws::places::AwsPlaces;
use rollout_core::EventKind;
use rollout_usecases::driver::{StopRequest, StopScope, Stopped};
use rollout_usecases::set::{SetDriver, SetStopRequest, SetStopped};

use crate::args::{AbortArgs, Global, Output};
use crate::exit::{CommandError, PROMOTED};

pub async fn abort(args: &AbortArgs, global: &Global) -> Result<i32, CommandError> {
    let topic = args.topic.as_deref();
    let (adapters, config) =
        crate::aws::operator_adapters(global, &args.function, &args.alias, topic).await?;
    let driver = adapters.driver("rollout-cli", &[], None);
    let places = AwsPlaces::new(&adapters, &config);
    let sets = SetDriver {
        home: &driver,
        places: &places,
    };
    let now = chrono::Utc::now();
    // An alias that cannot be read now is stopped alone: its stop keeps trying for minutes.
    let seen = sets.read_home(&args.function, &args.alias).await.ok();
    if let Some(alias) = &seen {
        let focus = alias.marker().and_then(|m| m.set).map(|l| l.index);
        if let Some(found) = sets
            .found_from(&args.function, &args.alias, alias.clone())
            .await?
        {
            let request = SetStopRequest {
                kind: EventKind::Aborted,
                reason: &args.reason,
                topic,
                alarms: Vec::new(),
                scope: StopScope::AnySplit,
                focus: focus.unwrap_or(0),
            };
            let stopped = sets.stop(&found, request, now).await;
            return set_aborted(args, global.output, (&found.name, found.count), stopped);
        }
    }
    let request = StopRequest {
        function: &args.function,
        alias: &args.alias,
        kind: EventKind::Aborted,
        reason: &args.reason,
        topic,
        alarms: Vec::new(),
        scope: StopScope::AnySplit,
    };
    let stopped = driver.stop_seen(request, seen, now).await?;
    if let Some(warning) = &stopped.warning {
        eprintln!("warning: {warning}");
    }
    match global.output {
        Output::Json => out!(
            "{}",
            serde_json::to_string_pretty(&stopped).expect("the stop serializes")
        ),
        Output::Text => out!("{}", aborted_line(&stopped)),
    }
    Ok(PROMOTED)
}

/// `orders:live aborted: back on version 1 (was moving to 2)`, or why nothing was done.
fn aborted_line(stopped: &Stopped) -> String {
    match (&stopped.restored_version, &stopped.stopped_version) {
        (Some(restored), Some(from)) => format!(
            "{}:{} aborted: back on version {restored} (was moving to {from})",
            stopped.function_name, stopped.alias
        ),
        _ => stopped.reason.clone(),
    }
}

/// What aborting a set did: a line per member (text), or the set's outcome with each
/// member's stop as one-alias `abort` shows it (JSON). A member still split is an error.
fn set_aborted(
    args: &AbortArgs,
    output: Output,
    (name, count): (&str, usize),
    stopped: SetStopped,
) -> Result<i32, CommandError> {
    if stopped.first_failure().is_some() {
        return Err(CommandError::Runtime(
            stopped.set.reason.clone().unwrap_or_default(),
        ));
    }
    if let Some(warning) = &stopped.warning {
        eprintln!("warning: {warning}");
    }
    let (status, reason) = match stopped.event {
        Some(_) => (
            stopped.set.status.as_str().to_string(),
            stopped.set.reason.clone().unwrap_or_default(),
        ),
        None => (
            "NothingToStop".to_string(),
            format!("no member of set {name} had a rollout to stop; left alone"),
        ),
    };
    let members: Vec<&Stopped> = stopped
        .members
        .iter()
        .filter_map(|(_, m)| m.as_ref().ok())
        .collect();
    match output {
        Output::Json => out!(
            "{:#}",
            serde_json::json!({
                "functionName": args.function,
                "alias": args.alias,
                "set": name,
                "rolloutId": stopped.set.rollout_id,
                "status": status,
                "reason": reason,
                "members": members,
                "leftAlone": stopped.left_alone,
                "warning": stopped.warning,
            })
        ),
        Output::Text => {
            match stopped.event {
                Some(_) => out!(
                    "set {name} ({count} functions) rollout {} aborted",
                    stopped.set.rollout_id
                ),
                None => out!("{reason}"),
            }
            for member in members.iter().filter(|m| m.restored_version.is_some()) {
                out!("  {}", aborted_line(member));
            }
            for member in &stopped.left_alone {
                out!("  {member}: left alone (not this set's any more, or gone)");
            }
        }
    }
    Ok(PROMOTED)
}
