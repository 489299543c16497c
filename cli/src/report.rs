//! `rollout report`: a rollout's timeline as one self-contained HTML file, built from
//! CloudWatch and the alias alone.

use chrono::{DateTime, Duration, Utc};
use rollout_core::alias::describe_alias;
use rollout_core::report::{render, weight_steps, Point, ReportInput, SetMemberNow};
use rollout_core::state::rollout_started_at;
use rollout_core::validate::{check_alias, check_function_name, short_function_name};
use rollout_core::{InvalidField, Marker};
use rollout_usecases::driver::DriveError;
use rollout_usecases::ports::{AlarmCatalog, AlarmHistory, AliasStore, Places, Timelines};

use crate::args::{as_flags, Global, Output, ReportArgs};
use crate::dashboard::{alarm_names, versions_of};
use crate::exit::{CommandError, PROMOTED};

/// How far back `--since` reaches: CloudWatch keeps per-minute data for 15 days.
const MAX_SINCE_DAYS: i64 = 15;
/// Without `--since` or a rollout recorded on the alias.
const DEFAULT_SINCE_HOURS: i64 = 3;
/// The most shown before a rollout's start (a twentieth of its window, up to this), so that
/// its first step is not on the edge.
const LEAD_SECONDS: i64 = 60;
/// The longest window of one rollout (its end is not recorded anywhere).
const MAX_ROLLOUT_HOURS: i64 = 24;

/// The window the flags ask for, checked before any AWS call.
enum Asked {
    Since(Duration),
    Rollout(String, DateTime<Utc>),
    /// The rollout the alias records, or the last hours without one.
    Latest,
}

fn asked(args: &ReportArgs) -> Result<Asked, InvalidField> {
    if let Some(text) = &args.since {
        let since = humantime::parse_duration(text)
            .ok()
            .and_then(|d| Duration::from_std(d).ok())
            .filter(|d| *d > Duration::zero() && *d <= Duration::days(MAX_SINCE_DAYS))
            .ok_or_else(|| {
                InvalidField::new(
                    "--since",
                    format!("{text:?} must be a duration like 30m, 6h or 2days, at most {MAX_SINCE_DAYS} days"),
                )
            })?;
        return Ok(Asked::Since(since));
    }
    if let Some(id) = &args.rollout {
        let started =
            rollout_started_at(id).map_err(|e| InvalidField::new("--rollout", e.problem))?;
        if started > Utc::now() {
            return Err(InvalidField::new(
                "--rollout",
                format!("{id:?} would start in the future; give the id of a rollout that ran"),
            ));
        }
        return Ok(Asked::Rollout(id.clone(), started));
    }
    Ok(Asked::Latest)
}

pub async fn report(args: &ReportArgs, global: &Global) -> Result<i32, CommandError> {
    check_function_name(&args.function).map_err(as_flags)?;
    check_alias(&args.alias).map_err(as_flags)?;
    let asked = asked(args)?;
    if args.out.as_os_str().is_empty() || args.out.is_dir() {
        return Err(InvalidField::new("--out", "must name a file to write").into());
    }
    let config = crate::aws::config(global).await?;
    let adapters = rollout_aws::Adapters::new(&config);
    let places = rollout_aws::places::AwsPlaces::new(&adapters, &config);
    let ports = ReportPorts {
        aliases: &adapters.aliases,
        alarms: &adapters.alarms,
        history: &adapters.alarms,
        timelines: &adapters.metrics,
        places: &places,
    };
    write_report(args, asked, &ports, global.output).await
}

/// What the report reads, each through its port: the alias, the alarms that watch it and what
/// they did, and its versions' series.
pub struct ReportPorts<'a> {
    pub aliases: &'a dyn AliasStore,
    pub alarms: &'a dyn AlarmCatalog,
    pub history: &'a dyn AlarmHistory,
    pub timelines: &'a dyn Timelines,
    /// Where the members of a release set the alias belongs to are.
    pub places: &'a dyn Places,
}

/// Reads the window `asked` for through `ports`, writes the report to `--out` and says what
/// it wrote.
async fn write_report(
    args: &ReportArgs,
    asked: Asked,
    ports: &ReportPorts<'_>,
    output: Output,
) -> Result<i32, CommandError> {
    let alias = ports
        .aliases
        .get(&args.function, &args.alias)
        .await
        .map_err(DriveError::from)?;
    let marker = alias.marker();
    let now = Utc::now();
    let (rollout_id, start, end) = window(asked, marker.as_ref(), now);
    if let Some(id) = rollout_id
        .as_deref()
        .filter(|id| rollout_started_at(id).is_ok_and(|at| at > now))
    {
        eprintln!(
            "warning: the alias records rollout {id}, which starts after now (a hand edit, or a clock ahead); showing the last {DEFAULT_SINCE_HOURS} hours"
        );
    }
    // The outcome only of the rollout the report is about.
    let outcome = marker.clone().filter(|m| match &rollout_id {
        Some(id) => m.rollout_id == *id,
        None => rollout_started_at(&m.rollout_id).is_ok_and(|at| at >= start && at <= end),
    });
    let versions = match &outcome {
        Some(m) => vec![m.from_version.clone(), m.to_version.clone()],
        None => versions_of(&alias),
    };
    let function = short_function_name(&args.function);
    let alarms = alarm_names(ports.alarms, function, &args.alias, &args.alarms).await?;
    let timeline = ports
        .timelines
        .timeline(function, &args.alias, &versions, start, end)
        .await?;
    let changes = ports.history.state_changes(&alarms, start, end).await?;
    let weight = own_weights(timeline.weight, rollout_id.as_deref(), end, now);
    let set = set_members(ports.places, &args.function, &args.alias, &alias).await?;
    let input = ReportInput {
        function: function.to_string(),
        alias: args.alias.clone(),
        rollout_id,
        start,
        end,
        weight,
        verdict: timeline.verdict,
        versions: timeline.versions,
        alarms,
        changes,
        outcome_current: outcome.as_ref().is_some_and(|m| m.describes(&alias)),
        outcome,
        alias_now: describe_alias(&alias),
        generated_at: now,
        set,
    };
    std::fs::write(&args.out, render(&input)).map_err(|e| {
        CommandError::Runtime(format!("could not write {}: {e}", args.out.display()))
    })?;
    let steps: Vec<String> = weight_steps(&input.weight)
        .iter()
        .map(|s| format!("{}%", (s.value * 100.0).round() / 100.0))
        .collect();
    let outcome = input.outcome.as_ref().map(|m| m.status.as_str());
    match output {
        Output::Json => out!(
            "{:#}",
            serde_json::json!({
                "out": args.out.display().to_string(),
                "rolloutId": input.rollout_id,
                "steps": steps,
                "alarmChanges": input.changes.len(),
                "outcome": outcome,
            })
        ),
        Output::Text => out!(
            "report written to {}: steps {}, {} alarm change(s), outcome {}",
            args.out.display(),
            if steps.is_empty() {
                "none".into()
            } else {
                steps.join(" -> ")
            },
            input.changes.len(),
            outcome.unwrap_or("not recorded")
        ),
    }
    Ok(PROMOTED)
}

/// The report's window: `(rollout id, start, end)`. Without a flag, the rollout the alias
/// records, or the last hours when it records none.
fn window(
    asked: Asked,
    marker: Option<&Marker>,
    now: DateTime<Utc>,
) -> (Option<String>, DateTime<Utc>, DateTime<Utc>) {
    let recorded = marker.and_then(|m| {
        Some((
            m.rollout_id.clone(),
            rollout_started_at(&m.rollout_id).ok()?,
        ))
    });
    let rollout = match asked {
        Asked::Since(since) => return (None, now - since, now),
        Asked::Rollout(id, started) => (id, started),
        Asked::Latest => match recorded {
            Some(recorded) => recorded,
            None => return (None, now - Duration::hours(DEFAULT_SINCE_HOURS), now),
        },
    };
    // An id from the future (a hand-edited marker, a driver whose clock runs ahead) has not
    // started by this clock: the last hours, as without one, never a start after the end.
    if rollout.1 > now {
        return (
            Some(rollout.0),
            now - Duration::hours(DEFAULT_SINCE_HOURS),
            now,
        );
    }
    let end = rollout_end(rollout.1, marker, now);
    // From the whole minute before the start: Lambda's per-minute data of the rollout's
    // first minute is stamped with that minute's start.
    let lead = ((end - rollout.1).num_seconds() / 20).clamp(1, LEAD_SECONDS);
    let lead = rollout.1 - Duration::seconds(lead);
    let start = DateTime::from_timestamp(lead.timestamp() / 60 * 60, 0).unwrap_or(lead);
    (Some(rollout.0), start, end)
}

/// The weight series of the rollout itself: `TrafficWeight` has no version dimension, so the
/// minute of lead before a rollout (kept for Lambda's per-minute data) would show the end of
/// the one before it, and the next one's first point (stamped to its second) may fall before
/// the end. Cut to [its start, the next start), to the second; a `--since` window, or one
/// whose rollout starts after it (an id from the future), is shown whole.
fn own_weights(
    weight: Vec<Point>,
    rollout_id: Option<&str>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Point> {
    let started = rollout_id.and_then(|id| rollout_started_at(id).ok());
    let Some(started) = started.filter(|at| *at <= end) else {
        return weight;
    };
    let second = |t: DateTime<Utc>| DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t);
    let (from, until) = (second(started), second(end));
    weight
        .into_iter()
        .filter(|p| p.at >= from && (p.at < until || end >= now))
        .collect()
}

/// A rollout's window ends now, a day after its start, or when the next rollout the alias
/// records started, whichever comes first (rollout ids sort by their start).
fn rollout_end(
    started: DateTime<Utc>,
    marker: Option<&Marker>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let next = marker
        .and_then(|m| rollout_started_at(&m.rollout_id).ok())
        .filter(|at| *at > started);
    [
        Some(now),
        Some(started + Duration::hours(MAX_ROLLOUT_HOURS)),
        next,
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(now)
}

/// When the alias is a member of a release set: the set's name and every member its ring
/// reaches, where each stands now.
async fn set_members(
    places: &dyn Places,
    function: &str,
    alias_name: &str,
    alias: &rollout_core::AliasState,
) -> Result<Option<(String, Vec<SetMemberNow>)>, CommandError> {
    let patience = rollout_usecases::patience::Patience::default();
    let found = rollout_usecases::set::ring::walk_from(
        places,
        &patience,
        function,
        alias_name,
        alias.clone(),
    )
    .await
    .map_err(DriveError::from)?;
    Ok(found.map(|set| {
        let members = set
            .members
            .iter()
            .map(|m| SetMemberNow {
                label: m.spec.label(),
                from_version: m.marker.from_version.clone(),
                to_version: m.marker.to_version.clone(),
                alias_now: describe_alias(&m.alias),
                status: m.marker.status.as_str().to_string(),
            })
            .collect();
        (set.name, members)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_rollouts_window_starts_a_whole_minute_before_it_and_ends_at_the_next_rollout() {
        let now = at("2026-11-23T15:00:00Z");
        let next = Marker::parse(
            "lambda-rollout id=r-20261123T140000000Z from=2 to=3 step=0 w=10 status=InProgress",
        );
        let (id, start, end) = window(
            Asked::Rollout("r-20261123T130030000Z".into(), at("2026-11-23T13:00:30Z")),
            next.as_ref(),
            now,
        );
        assert_eq!(id.as_deref(), Some("r-20261123T130030000Z"));
        assert_eq!(
            start,
            at("2026-11-23T12:59:00Z"),
            "a minute before, from its whole minute"
        );
        assert_eq!(end, at("2026-11-23T14:00:00Z"), "the next rollout's start");
    }

    #[test]
    fn without_flags_the_window_is_the_recorded_rollout_or_the_last_hours() {
        let now = at("2026-11-23T15:00:00Z");
        let recorded = Marker::parse(
            "lambda-rollout id=r-20261123T145000000Z from=1 to=2 step=1 w=0 status=RolledBack",
        );
        let (id, _, end) = window(Asked::Latest, recorded.as_ref(), now);
        assert_eq!((id.as_deref(), end), (Some("r-20261123T145000000Z"), now));
        let (id, start, _) = window(Asked::Latest, None, now);
        assert_eq!((id, start), (None, at("2026-11-23T12:00:00Z")));
    }

    #[test]
    fn a_recorded_rollout_from_the_future_never_gives_a_reversed_window() {
        // A hand-edited marker, or a driver whose clock runs ahead.
        let now = at("2026-11-23T15:00:00Z");
        let recorded = Marker::parse(
            "lambda-rollout id=r-20990101T000000000Z from=1 to=2 step=1 w=10 status=InProgress",
        );
        let (id, start, end) = window(Asked::Latest, recorded.as_ref(), now);
        assert_eq!(
            id.as_deref(),
            Some("r-20990101T000000000Z"),
            "still about it"
        );
        assert_eq!(
            (start, end),
            (at("2026-11-23T12:00:00Z"), now),
            "the last hours, as without one"
        );
        let weights = vec![Point {
            at: at("2026-11-23T14:59:00Z"),
            value: 10.0,
        }];
        assert_eq!(
            own_weights(weights.clone(), id.as_deref(), end, now),
            weights,
            "its weights cannot be told from others': shown whole"
        );
    }

    #[test]
    fn a_rollout_flag_in_the_future_is_refused_naming_the_flag() {
        let args = |rollout: &str| ReportArgs {
            function: "orders".into(),
            alias: "live".into(),
            since: None,
            rollout: Some(rollout.into()),
            alarms: vec![],
            out: "report.html".into(),
        };
        let refused = asked(&args("r-20990101T000000000Z")).err().unwrap();
        assert_eq!(refused.field, "--rollout");
        assert!(asked(&args("r-20261123T130000000Z")).is_ok());
    }

    #[test]
    fn the_weights_of_the_rollouts_before_and_after_are_not_its_own() {
        let point = |t: &str, value| Point { at: at(t), value };
        let series = vec![
            point("2026-11-23T13:00:05Z", 100.0), // the rollout before, ending
            point("2026-11-23T13:00:30Z", 10.0),  // this one's first step, at its start
            point("2026-11-23T13:20:00Z", 100.0),
            point("2026-11-23T13:59:59Z", 10.0), // the next one, stamped to its second
            point("2026-11-23T14:00:10Z", 50.0),
        ];
        let id = Some("r-20261123T130030000Z");
        let end = at("2026-11-23T13:59:59.500Z");
        let now = at("2026-11-23T15:00:00Z");
        let own: Vec<f64> = own_weights(series.clone(), id, end, now)
            .iter()
            .map(|p| p.value)
            .collect();
        assert_eq!(own, [10.0, 100.0]);
        // A window asked for with --since is shown whole.
        assert_eq!(own_weights(series.clone(), None, end, now), series);
    }
}
