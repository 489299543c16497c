//! `rollout status`: an alias and the rollout its marker records, if any; `--watch` follows
//! that rollout, whoever drives it, until it ends, and exits with its exit code.

use std::time::Duration;

use rollout_core::alias::describe_alias;
use rollout_core::marker::Control;
use rollout_core::plan::{format_percent, format_seconds};
use rollout_core::validate::{check_alias, check_function_name};
use rollout_core::{AliasState, Marker, Status};
use rollout_usecases::driver::DriveError;
use rollout_usecases::ports::AliasStore;
use serde_json::{json, Value};

use crate::args::{as_flags, poll_seconds, AliasArgs, Global, Output, StatusArgs};
use crate::exit::{for_status, CommandError, ABORTED, PROMOTED};

pub async fn status(args: &StatusArgs, global: &Global) -> Result<i32, CommandError> {
    let target = &args.alias;
    check_function_name(&target.function).map_err(as_flags)?;
    check_alias(&target.alias).map_err(as_flags)?;
    let poll = poll_seconds(&args.poll)?;
    let adapters = crate::aws::adapters(global).await?;
    let alias = adapters
        .aliases
        .get(&target.function, &target.alias)
        .await
        .map_err(DriveError::from)?;
    if !args.watch {
        show(target, &alias, global.output);
        return Ok(PROMOTED);
    }
    let poll = Duration::from_secs(poll);
    watch(target, &adapters.aliases, alias, poll, global.output).await
}

/// Follows the rollout the alias carries until it ends: one line whenever its step, weights,
/// pause or status change. Exits with the rollout's exit code (0 succeeded, 3 rolled back,
/// 4 aborted or the alias changed by someone else, 1 failed); 2 when there is nothing to
/// follow (no rollout recorded on the alias).
async fn watch(
    args: &AliasArgs,
    aliases: &dyn AliasStore,
    mut alias: AliasState,
    poll: Duration,
    output: Output,
) -> Result<i32, CommandError> {
    let Some(first) = alias.marker() else {
        return Err(CommandError::Refused(format!(
            "no rollout recorded on {}:{} (it is on {}); nothing to watch",
            args.function,
            args.alias,
            describe_alias(&alias)
        )));
    };
    let mut shown: Option<String> = None;
    let code = loop {
        let marker = alias.marker().filter(|m| m.rollout_id == first.rollout_id);
        let code = match &marker {
            Some(m) if !m.describes(&alias) => {
                line(
                    output,
                    &format!(
                        "the alias no longer matches rollout {} (now {}): changed by someone else",
                        first.rollout_id,
                        describe_alias(&alias)
                    ),
                );
                Some(ABORTED)
            }
            None => {
                line(
                    output,
                    &format!(
                        "rollout {} is no longer on the alias (now {}): changed by someone else",
                        first.rollout_id,
                        describe_alias(&alias)
                    ),
                );
                Some(ABORTED)
            }
            Some(m) => {
                let text = watched(m);
                // Told when anything but the time left changes.
                let key = text.split(", next step in").next().map(str::to_string);
                if shown != key {
                    line(output, &text);
                    shown = key;
                }
                m.status.is_terminal().then(|| for_status(m.status))
            }
        };
        if let Some(code) = code {
            break code;
        }
        tokio::time::sleep(poll).await;
        alias = match aliases.get(&args.function, &args.alias).await {
            Ok(alias) => alias,
            // AWS is throttling or failing for now: the rollout goes on; keep watching.
            Err(e) if e.is_transient() => {
                eprintln!("warning: {e}; still watching");
                continue;
            }
            Err(e) => return Err(DriveError::from(e).into()),
        };
    };
    if output == Output::Json {
        out!(
            "{}",
            serde_json::to_string_pretty(&as_json(args, &alias)).expect("status serializes")
        );
    }
    Ok(code)
}

/// One watched line: `rollout r-… 6 -> 7: 10% on 7 (step 1), paused by rollout-cli: why`.
fn watched(m: &Marker) -> String {
    let weight = m.weight.map(format_percent).unwrap_or_else(|| "?".into());
    let mut text = format!(
        "rollout {} {} -> {}: {} at step {}, {weight} on {}",
        m.rollout_id,
        m.from_version,
        m.to_version,
        m.status.as_str(),
        m.step_index + 1,
        m.to_version
    );
    let said = match (&m.by, &m.why) {
        (Some(by), Some(why)) => format!(" by {}: {}", printable(by), printable(why)),
        (Some(by), None) => format!(" by {}", printable(by)),
        (None, Some(why)) => format!(": {}", printable(why)),
        (None, None) => String::new(),
    };
    match (m.status, m.control) {
        (Status::InProgress, Some(Control::Paused)) => text.push_str(&format!(", paused{said}")),
        (Status::InProgress, Some(c)) => text.push_str(&format!(", {}{said}", c.as_str())),
        (Status::InProgress, None) => {}
        _ => text.push_str(&said),
    }
    if let (Status::InProgress, Some(at), false) =
        (m.status, m.next_step_at, m.control == Some(Control::Paused))
    {
        let left = (at - chrono::Utc::now()).num_seconds().max(0) as u64;
        text.push_str(&format!(", next step in {}", format_seconds(left)));
    }
    text
}

fn line(output: Output, text: &str) {
    let text = format!("[{}] {text}", chrono::Local::now().format("%H:%M:%S"));
    // With --output json, stdout carries only the final JSON.
    match output {
        Output::Json => eprintln!("{text}"),
        Output::Text => out!("{text}"),
    }
}

fn as_json(args: &AliasArgs, alias: &AliasState) -> Value {
    let rollout = alias.marker().map(|m| {
        json!({"rolloutId": m.rollout_id, "fromVersion": m.from_version, "toVersion": m.to_version,
               "stepIndex": m.step_index, "weight": m.weight, "status": m.status, "nextStepAt": m.next_step_at,
               "control": m.control, "by": m.by, "why": m.why, "matchesAlias": m.describes(alias)})
    });
    let routing = alias
        .routing
        .as_ref()
        .map(|(v, w)| json!({"version": v, "weight": w}));
    json!({"functionName": args.function, "alias": args.alias, "version": alias.version,
           "routing": routing, "aliasRevisionId": alias.revision_id, "rollout": rollout})
}

fn show(args: &AliasArgs, alias: &AliasState, output: Output) {
    match output {
        Output::Json => {
            out!(
                "{}",
                serde_json::to_string_pretty(&as_json(args, alias)).expect("status serializes")
            );
        }
        Output::Text => {
            out!(
                "{}:{} → {}",
                args.function,
                args.alias,
                describe_alias(alias)
            );
            match alias.marker() {
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
                    if let Some(control) = m.control {
                        out!("operator: {}", control.as_str());
                    }
                    if !m.describes(alias) {
                        out!("the alias no longer matches this record (moved by hand?); it is not acted upon");
                    }
                    for (what, text) in [("by", &m.by), ("why", &m.why)] {
                        if let Some(text) = text {
                            out!("{what}: {}", printable(text));
                        }
                    }
                }
                None => out!("no rollout recorded on this alias"),
            }
        }
    }
}

/// Text from an alias description, safe for a terminal: control characters (an escape
/// sequence someone wrote there) are shown escaped, never sent raw.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c.is_control() {
            true => c.escape_default().collect::<Vec<_>>(),
            false => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_never_reach_the_terminal() {
        let shown = super::printable("alarm \u{1b}[31mred\u{7} é");
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert!(
            shown.contains("\\u{1b}[31mred") && shown.ends_with(" é"),
            "{shown}"
        );
    }
}
