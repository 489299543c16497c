//! `rollout run --set`: a release set started (every member's pre-flight first, then the
//! first step on all) and driven to its end like one alias, each member in its own region
//! and account; a breach of any member puts every member back.

use std::cell::RefCell;
use std::time::Duration;

use chrono::Utc;
use rollout_aws::places::AwsPlaces;
use rollout_aws::Adapters;
use rollout_core::set::SetSpec;
use rollout_core::{InvalidField, SetRollout};
use rollout_usecases::driver::new_rollout_id;
use rollout_usecases::readiness::ReadyWait;
use rollout_usecases::request::{parse_set, set_from_text};
use rollout_usecases::set::SetDriver;

use crate::args::{poll_seconds, Global, Output, RunArgs, TargetArgs};
use crate::exit::{for_status, CommandError, INTERRUPTED, TERMINATED};
use crate::plan::{analysis_value, bake_seconds};
use crate::progress::Progress;
use crate::run::{Signal, Stop, Watching};

pub async fn run_set(args: RunArgs, set: &str, global: &Global) -> Result<i32, CommandError> {
    let poll = poll_seconds(&args.poll)?;
    let spec = set_spec(
        set,
        &args.target,
        args.topic.clone(),
        args.bake.as_deref(),
        args.analysis.as_deref(),
    )?;
    let plan = spec.validate()?;
    let wait_limit = args.target.wait_ready()?;
    let config = crate::aws::config(global).await?;
    let adapters = Adapters::with_channels(&config, &global.channels()?);
    let driver = adapters.driver("rollout-cli", &[], None);
    let places = AwsPlaces::new(&adapters, &config);
    let sets = SetDriver {
        home: &driver,
        places: &places,
    };
    let mut progress = Progress::new(plan, global.output == Output::Json, global.quiet);
    let members: Vec<String> = spec
        .members
        .iter()
        .map(|m| format!("{} -> {}", m.label(), m.target_version))
        .collect();
    progress.note(&format!(
        "set {} ({} functions): {}",
        spec.set,
        spec.members.len(),
        members.join(", ")
    ));

    let now = Utc::now();
    let mut stop = Stop::listen();
    // The reads (and the wait for Pending versions) may be stopped at any point: nothing
    // is written before every member's checks pass.
    let prepared = {
        let tell = |line: &str| progress.note(line);
        let ready = ReadyWait {
            limit: wait_limit,
            on_wait: &tell,
        };
        tokio::select! {
            prepared = sets.prepare(&spec, now, &ready) => prepared?,
            signal = stop.received() => {
                eprintln!("stopped before the first shift: every alias is untouched");
                return Ok(match signal {
                    Signal::Interrupt => INTERRUPTED,
                    Signal::Terminate => TERMINATED,
                });
            }
        }
    };
    // The writes are a moment: finished before a signal is heard, so that no member is
    // left started with no one watching.
    let started = sets.begin(prepared, new_rollout_id(now)).await?;
    if let Some(warning) = &started.warning {
        eprintln!("warning: {warning}; the rollout goes on");
    }
    let set = started.set;
    progress.show(&set.view());
    let progress = RefCell::new(progress);
    let mut pacer = Watching {
        progress: &progress,
        announcer: &driver.announcer,
        last: set.view(),
    };
    let mut last = set.clone();
    let ended = {
        let run = sets.run_until_end(set, &mut pacer, Some(Duration::from_secs(poll)));
        stop.or_signal(run, &driver.rolling_back, |signal, why| {
            progress.borrow().note(&format!(
                "{}: putting every member back first ({why}); a second signal stops that and leaves traffic split",
                signal.name(),
            ))
        })
        .await
    };
    // Where the set last stood, as the pacer saw it (members move in lockstep).
    let view = pacer.last.clone();
    last.status = view.status;
    last.step_index = view.step_index;
    last.weight = view.weight;
    for m in last.members.iter_mut().filter(|m| m.status.is_none()) {
        m.weight = view.weight;
    }
    let mut progress = progress.into_inner();
    let set = match ended {
        Ok(Ok(set)) => set,
        Err((signal, why)) => return Ok(stopped(signal, why, &sets, &progress, &last).await),
        Ok(Err((last, e))) => {
            let failed = sets.report_failure(&last, e.to_string(), Utc::now()).await;
            progress.show(&failed.view());
            progress.line_for_resume(&failed.view());
            return Err(e.into());
        }
    };
    progress.finish(&set.view());
    if global.output == Output::Json {
        out!(
            "{}",
            serde_json::to_string_pretty(&set).expect("state serializes")
        );
    }
    Ok(for_status(set.status))
}

/// The set `--set` names (a file, YAML or JSON, or inline JSON), with the flags that fill
/// what it leaves out: `--strategy`, `--topic`, `--bake`, `--analysis`; `--alarm` adds.
pub fn set_spec(
    arg: &str,
    target: &TargetArgs,
    topic: Option<String>,
    bake: Option<&str>,
    analysis: Option<&str>,
) -> Result<SetSpec, CommandError> {
    let text = match arg.trim_start().starts_with('{') {
        true => arg.to_string(),
        false => std::fs::read_to_string(arg)
            .map_err(|e| InvalidField::new("--set", format!("cannot read {arg}: {e}")))?,
    };
    let mut value = set_from_text(&text).map_err(|e| InvalidField::new("--set", e.problem))?;
    if let Some(fields) = value.as_object_mut() {
        // `--strategy` has a default: it fills a set that names none, and never clashes.
        fields
            .entry("strategy")
            .or_insert_with(|| target.strategy.clone().into());
        let mut fill = |key: &str, flag: &'static str, given: Option<serde_json::Value>| match (
            fields.get(key),
            given,
        ) {
            (Some(_), Some(_)) => Err(InvalidField::new(
                flag,
                format!("the set already says its {key}; give it in one place"),
            )),
            (None, Some(v)) => {
                fields.insert(key.into(), v);
                Ok(())
            }
            _ => Ok(()),
        };
        fill("notificationTopicArn", "--topic", topic.map(Into::into))?;
        let bake = Some(bake_seconds(bake)?).filter(|b| *b > 0);
        fill("bakeTime", "--bake", bake.map(Into::into))?;
        fill("analysis", "--analysis", analysis_value(analysis)?)?;
        if !target.alarms.is_empty() {
            let alarms = fields
                .entry("alarms")
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let Some(list) = alarms.as_array_mut() {
                list.extend(target.alarms.iter().cloned().map(Into::into));
            }
        }
    }
    Ok(parse_set(value)?)
}

/// `rollout check --set`: every member's pre-flight checks, as a start makes them, and
/// nothing written. Exit 0 when every member may start; a refusal names every member at fault.
pub async fn check_set(
    set: &str,
    target: &TargetArgs,
    global: &Global,
) -> Result<i32, CommandError> {
    let spec = set_spec(set, target, None, None, None)?;
    spec.validate()?;
    let wait_limit = target.wait_ready()?;
    let config = crate::aws::config(global).await?;
    let adapters = Adapters::with_channels(&config, &global.channels()?);
    let driver = adapters.driver("rollout-cli", &[], None);
    let places = AwsPlaces::new(&adapters, &config);
    let sets = SetDriver {
        home: &driver,
        places: &places,
    };
    let tell = |line: &str| {
        if !global.quiet {
            eprintln!("{line}");
        }
    };
    let ready = ReadyWait {
        limit: wait_limit,
        on_wait: &tell,
    };
    sets.prepare(&spec, Utc::now(), &ready).await?;
    let members: Vec<String> = spec
        .members
        .iter()
        .map(|m| format!("{} -> {}", m.label(), m.target_version))
        .collect();
    match global.output {
        Output::Json => out!(
            "{}",
            serde_json::json!({"set": spec.set, "clear": true, "members": spec.members})
        ),
        Output::Text => out!(
            "set {}: every member may start ({})",
            spec.set,
            members.join(", ")
        ),
    }
    Ok(crate::exit::PROMOTED)
}

/// Stopped by a signal: every member is left as it is (SIGTERM also tells people, since no
/// one is there to read the hint); a rollback stopped half-way is said to be.
async fn stopped(
    signal: Signal,
    rolling_back: Option<String>,
    sets: &SetDriver<'_>,
    progress: &Progress,
    set: &SetRollout,
) -> i32 {
    let lead = &set.members[0].spec;
    let again = format!(
        "Run the same command again to resume, or `rollout abort --function {} --alias {}` to put every member back",
        lead.function_name, lead.alias
    );
    let reason = match (&signal, rolling_back) {
        (_, Some(why)) => Some(format!(
            "rollout run --set was stopped ({}) while putting every member back; the rollback was interrupted. Why it was rolling back: {why}. {again}",
            signal.name()
        )),
        (Signal::Terminate, None) => Some(format!(
            "rollout run --set was stopped (SIGTERM) with {} on the new versions; no one is driving it. {again}",
            rollout_core::plan::format_percent(set.weight)
        )),
        (Signal::Interrupt, None) => None,
    };
    let view = match reason {
        Some(reason) => sets.report_failure(set, reason, Utc::now()).await.view(),
        None => set.view(),
    };
    match signal {
        Signal::Interrupt => {
            progress.interrupted(&view);
            INTERRUPTED
        }
        Signal::Terminate => {
            progress.terminated(&view);
            TERMINATED
        }
    }
}
