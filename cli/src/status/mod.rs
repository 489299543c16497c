//! `rollout status`: an alias and the rollout its marker records, if any (and, on a member of
//! a release set, the whole set); `--watch` follows that rollout, whoever drives it, until it
//! ends, and exits with its exit code.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rollout_core::alias::describe_alias;
use rollout_core::judgement::Window;
use rollout_core::plan::{format_percent, format_seconds};
use rollout_core::printable::printable;
use rollout_core::state::{rollout_started_at, Control};
use rollout_core::validate::{check_alias, check_function_name, short_function_name};
use rollout_core::{AliasState, Analysis, Judgement, Marker, Status};
use rollout_usecases::driver::DriveError;
use rollout_usecases::ports::{AlarmSource, AliasStore, MetricsQuery, MetricsSource};
use rollout_usecases::set::ring::FoundSet;
use serde_json::{json, Value};

use crate::args::{as_flags, poll_seconds, AliasArgs, Global, Output, StatusArgs};
use crate::dashboard::alarm_names;
use crate::exit::{for_status, CommandError, ABORTED, PROMOTED};
use crate::plan::analysis_arg;

mod set;

pub async fn status(args: &StatusArgs, global: &Global) -> Result<i32, CommandError> {
    let target = &args.alias;
    check_function_name(&target.function).map_err(as_flags)?;
    check_alias(&target.alias).map_err(as_flags)?;
    let poll = poll_seconds(&args.poll)?;
    // Every flag is checked before any call.
    let analysis = analysis_arg(args.analysis.as_deref())?;
    let (adapters, config) = crate::aws::adapters_and_config(global).await?;
    let alias = adapters
        .aliases
        .get(&target.function, &target.alias)
        .await
        .map_err(DriveError::from)?;
    if !args.watch {
        let found = set::found(&adapters, &config, target, &alias).await;
        let home = config.region().map(|r| r.to_string());
        let found = found.as_ref().map(|f| (f, home.as_deref()));
        show(target, &alias, found, global.output);
        return Ok(PROMOTED);
    }
    let poll = Duration::from_secs(poll);
    let function = short_function_name(&target.function);
    let alarms = alarm_names(&adapters.alarms, function, &target.alias, &args.alarms).await?;
    let health = Health {
        function: function.to_string(),
        alias: target.alias.clone(),
        alarms,
        analysis,
        alarm_source: &adapters.alarms,
        metrics: &adapters.metrics,
        judged: None,
        shown: (None, None),
    };
    watch(
        target,
        &adapters.aliases,
        alias,
        poll,
        global.output,
        health,
    )
    .await
}

/// What `--watch` shows besides the marker: the alarms that guard the alias, and (with
/// `--analysis`) the judgement of the split as a driver would make it.
struct Health<'a> {
    /// The function's short name and the alias, as the metrics name them.
    function: String,
    alias: String,
    alarms: Vec<String>,
    analysis: Option<Analysis>,
    alarm_source: &'a dyn AlarmSource,
    metrics: &'a dyn MetricsSource,
    /// The weight being judged, since when the watch has seen it, and when it last judged.
    judged: Option<(f64, DateTime<Utc>, DateTime<Utc>)>,
    /// The alarm and judgement lines last shown: each is told again only when it changes.
    shown: (Option<String>, Option<String>),
}

/// How often `--watch --analysis` reads the metrics (one GetMetricData each time).
const JUDGE_EVERY_SECONDS: i64 = 30;

impl Health<'_> {
    async fn show(&mut self, m: &Marker, output: Output) {
        if !self.alarms.is_empty() {
            let text = match self.alarm_source.verdicts(&self.alarms).await {
                Ok(verdicts) => format!(
                    "alarms: {}",
                    verdicts
                        .iter()
                        .map(|v| v.describe())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                Err(e) => format!("alarms: could not be read ({e})"),
            };
            if self.shown.0.as_ref() != Some(&text) {
                line(output, &text);
                self.shown.0 = Some(text);
            }
        }
        let (Some(analysis), Some(weight)) = (&self.analysis, m.weight) else {
            return;
        };
        if m.status != Status::InProgress || weight <= 0.0 || weight >= 1.0 {
            return;
        }
        let now = Utc::now();
        let since = match self.judged {
            Some((w, since, last)) if w == weight => {
                if (now - last).num_seconds() < JUDGE_EVERY_SECONDS {
                    return;
                }
                since
            }
            // A weight the watch saw applied: from that moment.
            Some(_) => now,
            None => judged_since(&m.rollout_id, now),
        };
        self.judged = Some((weight, since, now));
        let query = MetricsQuery {
            function: self.function.clone(),
            alias: self.alias.clone(),
            target: m.to_version.clone(),
            current: m.from_version.clone(),
            start: since,
            end: now,
        };
        let window = Window::new(since, now);
        let text = match self.metrics.versions(&query).await {
            Ok((target, current)) => {
                let j = Judgement::new(analysis, target, current, window.end.clone(), window);
                let verdict = serde_json::to_value(j.verdict).unwrap_or_default();
                format!(
                    "judged {} since {}: {}",
                    verdict.as_str().unwrap_or("?"),
                    since.with_timezone(&chrono::Local).format("%H:%M:%S"),
                    j.line()
                )
            }
            Err(e) => format!("not judged: the metrics could not be read ({e})"),
        };
        // The counts change at every read: told when the verdict changes, not each time.
        let key = text.split(':').next().map(str::to_string);
        if self.shown.1 != key {
            line(output, &text);
            self.shown.1 = key;
        }
    }
}

/// Where a watch judges a weight already applied when it began: from the rollout's start (its
/// id says when), the last quarter of an hour of a long one, and never after now (an id from
/// the future: a hand edit, or a clock ahead).
fn judged_since(rollout_id: &str, now: DateTime<Utc>) -> DateTime<Utc> {
    let recent = now - chrono::Duration::minutes(15);
    rollout_started_at(rollout_id).map_or(recent, |start| start.clamp(recent, now))
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
    mut health: Health<'_>,
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
                health.show(m, output).await;
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

/// One watched line, timed, on its one line (its alarm and judgement texts come from AWS).
fn line(output: Output, text: &str) {
    let text = format!(
        "[{}] {}",
        chrono::Local::now().format("%H:%M:%S"),
        printable(text)
    );
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

/// The alias, its rollout, and the release set it is in (with the caller's region, which its
/// members' lines leave unsaid).
fn show(
    args: &AliasArgs,
    alias: &AliasState,
    found: Option<(&FoundSet, Option<&str>)>,
    output: Output,
) {
    match output {
        Output::Json => {
            let mut doc = as_json(args, alias);
            if let Some((found, _)) = found {
                set::add_to(&mut doc, found);
            }
            out!(
                "{}",
                serde_json::to_string_pretty(&doc).expect("status serializes")
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
                    let next = m
                        .next_step_at
                        .filter(|_| m.status == Status::InProgress)
                        .map(|at| {
                            let left = (at - chrono::Utc::now()).num_seconds().max(0) as u64;
                            match m.control {
                                // Nothing advances until `rollout resume` (or `promote`).
                                Some(Control::Paused) => {
                                    format!(", paused (its hold ends in {})", format_seconds(left))
                                }
                                _ => format!(", next step in {}", format_seconds(left)),
                            }
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
            if let Some((found, home)) = found {
                set::show(found, home);
            }
        }
    }
}

#[cfg(test)]
mod tests;
