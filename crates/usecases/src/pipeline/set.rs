//! A release set as the CodePipeline action: the set spec as `UserParameters`, one set step
//! per invocation, the set's progress in the continuation token (`s1.`), the job's result
//! for the whole set.

use chrono::{DateTime, Utc};
use rollout_core::plan::format_percent;
use rollout_core::set::SetSpec;
use rollout_core::{InvalidField, SetRollout, Status};
use serde_json::Value;

use super::token::{self, Continuation};
use super::{config_error, JobOutcome, PipelineJob, Recovered};
use crate::driver::{new_rollout_id, Driver};
use crate::ports::{FailureKind, JobResults, JobSuccess, Places};
use crate::readiness::ReadyWait;
use crate::set::SetDriver;

/// Whether `UserParameters` name a release set (`set`) rather than one alias.
pub(super) fn names_a_set(user_parameters: &str) -> bool {
    serde_json::from_str::<Value>(user_parameters).is_ok_and(|v| v.get("set").is_some())
}

/// One step of the set `job` names, reported to CodePipeline (see [`super::run_job`]).
pub(super) async fn run_set_job(
    driver: &Driver<'_>,
    places: &dyn Places,
    results: &dyn JobResults,
    job: &PipelineJob,
    now: DateTime<Utc>,
    ready: &ReadyWait<'_>,
) -> Result<JobOutcome, crate::ports::PipelineError> {
    let outcome = match step(driver, places, job, now, ready).await {
        Ok(Progress::Set(set)) => match set.status {
            Status::InProgress => JobOutcome::SetContinue(*set),
            Status::Succeeded => JobOutcome::SetSucceeded(*set),
            status => JobOutcome::Failed {
                kind: FailureKind::JobFailed,
                message: format!(
                    "{} {}: {}",
                    status.as_str(),
                    label(&set),
                    set.reason.as_deref().unwrap_or("no reason given")
                ),
            },
        },
        Ok(Progress::Waiting {
            spec,
            since,
            reason,
        }) => JobOutcome::Waiting {
            spec: spec.member_spec(0),
            since,
            reason,
        },
        Err((kind, message)) => JobOutcome::Failed { kind, message },
    };
    match &outcome {
        JobOutcome::SetContinue(set) => {
            let token = token::encode_set(set, &job.user_parameters);
            results.success(&job.id, success(set, Some(token))).await?
        }
        JobOutcome::SetSucceeded(set) => results.success(&job.id, success(set, None)).await?,
        JobOutcome::Waiting { since, reason, .. } => {
            let summary = format!(
                "waiting for every member's version to be Active; no traffic shifted yet ({reason})"
            );
            results
                .success(
                    &job.id,
                    super::waiting(*since, &job.user_parameters, summary),
                )
                .await?
        }
        JobOutcome::Failed { kind, message } => results.failure(&job.id, *kind, message).await?,
        JobOutcome::Continue(_) | JobOutcome::Succeeded(_) => {}
    }
    Ok(outcome)
}

enum Progress {
    Set(Box<SetRollout>),
    Waiting {
        spec: Box<SetSpec>,
        since: DateTime<Utc>,
        reason: String,
    },
}

async fn step(
    driver: &Driver<'_>,
    places: &dyn Places,
    job: &PipelineJob,
    now: DateTime<Utc>,
    ready: &ReadyWait<'_>,
) -> Result<Progress, (FailureKind, String)> {
    let value: Value = serde_json::from_str(&job.user_parameters)
        .map_err(|e| config_error(InvalidField::new("UserParameters", e.to_string())))?;
    // Every member's region said, as the start says them, so the token rebuilds the same set.
    let spec = crate::request::parse_set(value)
        .map_err(config_error)?
        .with_regions(places.home_region().as_deref());
    let plan = spec.validate().map_err(config_error)?;
    let sets = SetDriver {
        home: driver,
        places,
    };
    let continuation = match &job.continuation_token {
        None => None,
        Some(token) => Some(
            token::decode_set(token, &spec, &plan, &job.user_parameters)
                .map_err(|e| (FailureKind::JobFailed, e.to_string()))?,
        ),
    };
    let (result, since, before) = match continuation {
        Some(Continuation::SetInFlight(set)) => (sets.step(&set, now).await, None, Some(set)),
        Some(Continuation::Waiting { since }) => (
            sets.start(&spec, new_rollout_id(now), now, ready).await,
            Some(since),
            None,
        ),
        None => (
            sets.start(&spec, new_rollout_id(now), now, ready).await,
            None,
            None,
        ),
        Some(Continuation::InFlight(_)) => {
            return Err((
                FailureKind::JobFailed,
                "continuationToken: it is one alias's, not this set's".into(),
            ))
        }
    };
    match result {
        Ok(stepped) => Ok(Progress::Set(Box::new(stepped.set))),
        Err(e) => match super::after_error(e, before, since, now)? {
            Recovered::Same(set) => Ok(Progress::Set(set)),
            Recovered::Waiting { since, reason } => Ok(Progress::Waiting {
                spec: Box::new(spec),
                since,
                reason,
            }),
        },
    }
}

/// `checkout (3 functions)`.
fn label(set: &SetRollout) -> String {
    format!("{} ({} functions)", set.set, set.members.len())
}

fn success(set: &SetRollout, continuation_token: Option<String>) -> JobSuccess {
    let steps = set.validate().map(|p| p.steps.len()).unwrap_or(1);
    let summary = match set.status {
        Status::Succeeded => format!("{} promoted", label(set)),
        _ => format!(
            "{} {} on the new versions (step {}/{steps})",
            label(set),
            format_percent(set.weight),
            set.step_index + 1
        ),
    };
    let outputs = vec![
        ("set".into(), set.set.clone()),
        ("rolloutId".into(), set.rollout_id.clone()),
    ];
    // The set's operator word is its lead's: a resume goes there too.
    let lead = &set.members[0].spec;
    let at = (set.status, set.step_index, steps, set.rollout_id.as_str());
    let resume = (lead.function_name.as_str(), lead.alias.as_str());
    super::job_success(
        summary,
        set.control,
        resume,
        at,
        continuation_token,
        outputs,
    )
}
