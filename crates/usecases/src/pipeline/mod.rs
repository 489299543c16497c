//! The shifter as a CodePipeline Invoke action: a job event in, one rollout step, and the
//! job's result out (success with a continuation token while the rollout runs, or while the
//! target version is still `Pending` and nothing has started; success with output variables
//! once promoted; failure with the reason otherwise).
//!
//! The traffic-shifter function parses the job event, which carries artifact credentials;
//! only the parts of a job below get this far.

mod set;
pub mod token;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::driver::{new_rollout_id, DriveError, Driver};
use crate::ports::{FailureKind, JobResults, JobSuccess, Places};
use crate::readiness::{ReadyWait, DEFAULT_LIMIT};
use rollout_core::plan::{format_percent, format_seconds};
use rollout_core::Refusal;
use rollout_core::{InvalidField, Rollout, SetRollout, Spec, Status};
use token::Continuation;

/// The parts of a job this action uses; the credentials are dropped at parse time.
#[derive(Clone, PartialEq)]
pub struct PipelineJob {
    pub id: String,
    pub user_parameters: String,
    pub continuation_token: Option<String>,
}

impl std::fmt::Debug for PipelineJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineJob")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What the action reported for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    Continue(Rollout),
    /// Nothing started: the target version is not `Active` yet (waited for since `since`).
    Waiting {
        spec: Spec,
        since: DateTime<Utc>,
        reason: String,
    },
    Succeeded(Rollout),
    /// A release set in flight, and a release set promoted.
    SetContinue(SetRollout),
    SetSucceeded(SetRollout),
    Failed {
        kind: FailureKind,
        message: String,
    },
}

/// What one invocation got to.
enum Progress {
    Rollout(Box<Rollout>),
    Waiting {
        spec: Box<Spec>,
        since: DateTime<Utc>,
        reason: String,
    },
}

/// Takes one step for `job` and reports it to CodePipeline. An error means the result could
/// not be reported (so Lambda should retry); every rollout outcome is a reported result. A
/// `Pending` target is waited for as `ready` allows, then across invocations (a continuation
/// that starts nothing) for at most [`DEFAULT_LIMIT`].
pub async fn run_job(
    driver: &Driver<'_>,
    places: &dyn Places,
    results: &dyn JobResults,
    job: &PipelineJob,
    now: DateTime<Utc>,
    ready: &ReadyWait<'_>,
) -> Result<JobOutcome, crate::ports::PipelineError> {
    if set::names_a_set(&job.user_parameters) {
        return set::run_set_job(driver, places, results, job, now, ready).await;
    }
    let outcome = match step(driver, job, now, ready).await {
        Ok(Progress::Rollout(rollout)) => match rollout.status {
            Status::InProgress => JobOutcome::Continue(*rollout),
            Status::Succeeded => JobOutcome::Succeeded(*rollout),
            _ => JobOutcome::Failed {
                kind: FailureKind::JobFailed,
                message: failure_message(&rollout),
            },
        },
        Ok(Progress::Waiting {
            spec,
            since,
            reason,
        }) => JobOutcome::Waiting {
            spec: *spec,
            since,
            reason,
        },
        Err((kind, message)) => JobOutcome::Failed { kind, message },
    };
    match &outcome {
        JobOutcome::Continue(rollout) => {
            results
                .success(
                    &job.id,
                    success(rollout, Some(token::encode(rollout, &job.user_parameters))),
                )
                .await?
        }
        JobOutcome::Waiting {
            spec,
            since,
            reason,
        } => {
            let summary = format!(
                "{}:{} waiting for version {} to be Active; no traffic shifted yet ({reason})",
                spec.function_short_name(),
                spec.alias,
                spec.target_version
            );
            results
                .success(&job.id, waiting(*since, &job.user_parameters, summary))
                .await?
        }
        JobOutcome::Succeeded(rollout) => results.success(&job.id, success(rollout, None)).await?,
        JobOutcome::Failed { kind, message } => results.failure(&job.id, *kind, message).await?,
        // A set's job is reported by its own path.
        JobOutcome::SetContinue(_) | JobOutcome::SetSucceeded(_) => {}
    }
    Ok(outcome)
}

/// Parses the spec and token, then starts (or tries again to start) or steps the rollout.
async fn step(
    driver: &Driver<'_>,
    job: &PipelineJob,
    now: DateTime<Utc>,
    ready: &ReadyWait<'_>,
) -> Result<Progress, (FailureKind, String)> {
    let spec = user_parameters_spec(&job.user_parameters).map_err(config_error)?;
    let plan = spec.validate().map_err(config_error)?;
    let continuation = match &job.continuation_token {
        None => None,
        Some(token) => Some(
            token::decode(token, &spec, &plan, &job.user_parameters)
                .map_err(|e| (FailureKind::JobFailed, e.to_string()))?,
        ),
    };
    let (result, since, before) = match continuation {
        Some(Continuation::InFlight(rollout)) => {
            let stepped = driver.step(&rollout, now).await;
            (stepped, None, Some(rollout))
        }
        Some(Continuation::SetInFlight(_)) => {
            return Err((
                FailureKind::JobFailed,
                "continuationToken: it is a release set's, not this alias's".into(),
            ))
        }
        Some(Continuation::Waiting { since }) => (
            driver.start(&spec, new_rollout_id(now), now, ready).await,
            Some(since),
            None,
        ),
        None => (
            driver.start(&spec, new_rollout_id(now), now, ready).await,
            None,
            None,
        ),
    };
    match result {
        // A lost notification is logged by the driver; the rollout carries on.
        Ok(stepped) => Ok(Progress::Rollout(Box::new(stepped.rollout))),
        Err(e) => match after_error(e, before, since, now)? {
            Recovered::Same(rollout) => Ok(Progress::Rollout(rollout)),
            Recovered::Waiting { since, reason } => Ok(Progress::Waiting {
                spec: Box::new(spec),
                since,
                reason,
            }),
        },
    }
}

/// Bad `UserParameters`: the pipeline's configuration is at fault, not the rollout.
fn config_error(e: InvalidField) -> (FailureKind, String) {
    (
        FailureKind::ConfigurationError,
        format!("UserParameters: {e}"),
    )
}

/// What a start or a step that failed comes to for the job.
enum Recovered<T> {
    /// Nothing moved, AWS unavailable for now: the same progress (the same token) again.
    Same(T),
    /// Nothing started: the target version is not `Active` yet; waited for since `since`.
    Waiting {
        since: DateTime<Utc>,
        reason: String,
    },
}

/// A failed start or step (`before`: the progress it was taken from, none for a start): AWS
/// unavailable with nothing moved continues with the same token, so the next invocation picks
/// up where this one was (never a job ended with an alias split and no one watching); a
/// version not ready yet is waited for across invocations for at most [`DEFAULT_LIMIT`];
/// invalid input is a configuration error; anything else fails the job.
fn after_error<T>(
    e: DriveError,
    before: Option<T>,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Recovered<T>, (FailureKind, String)> {
    match e {
        DriveError::Alias(e) if e.is_transient() && before.is_some() => {
            tracing::warn!(error = %e, "AWS unavailable; the job continues with the same token");
            Ok(Recovered::Same(before.expect("checked")))
        }
        DriveError::Refused(Refusal::NotReady(reason)) => {
            let since = since.unwrap_or(now);
            let waited = (now - since).num_seconds().max(0) as u64;
            if waited >= DEFAULT_LIMIT.as_secs() {
                return Err((
                    FailureKind::JobFailed,
                    format!(
                        "{reason}; gave up {} after the first attempt",
                        format_seconds(waited)
                    ),
                ));
            }
            Ok(Recovered::Waiting { since, reason })
        }
        DriveError::Invalid(field) | DriveError::Refused(Refusal::Invalid(field)) => {
            Err(config_error(field))
        }
        other => Err((FailureKind::JobFailed, other.to_string())),
    }
}

/// `UserParameters` must be a rollout spec (JSON), nothing else.
fn user_parameters_spec(raw: &str) -> Result<Spec, InvalidField> {
    if raw.trim().is_empty() {
        return Err(InvalidField::new(
            "UserParameters",
            "is empty; it must be a rollout spec as JSON",
        ));
    }
    let value: Value = serde_json::from_str(raw).map_err(|e| {
        InvalidField::new(
            "UserParameters",
            format!("is not JSON ({e}); it must be a rollout spec"),
        )
    })?;
    crate::request::parse_spec(value)
}

/// What the invocation returns (CodePipeline ignores it; it helps when testing by hand).
pub fn outcome_json(outcome: &JobOutcome) -> Value {
    match outcome {
        JobOutcome::Continue(r) | JobOutcome::Succeeded(r) => {
            serde_json::to_value(r).expect("state serializes")
        }
        JobOutcome::SetContinue(s) | JobOutcome::SetSucceeded(s) => {
            serde_json::to_value(s).expect("state serializes")
        }
        JobOutcome::Waiting { since, reason, .. } => {
            serde_json::json!({"waitingSince": since, "reason": reason})
        }
        JobOutcome::Failed { kind, message } => {
            serde_json::json!({"failure": format!("{kind:?}"), "message": message})
        }
    }
}

fn failure_message(rollout: &Rollout) -> String {
    format!(
        "{} {}:{}: {}",
        rollout.status.as_str(),
        rollout.spec.function_short_name(),
        rollout.spec.alias,
        rollout.reason.as_deref().unwrap_or("no reason given")
    )
}

fn success(rollout: &Rollout, continuation_token: Option<String>) -> JobSuccess {
    let spec = &rollout.spec;
    let plan_steps = spec.validate().map(|p| p.steps.len()).unwrap_or(1);
    let summary = match rollout.status {
        Status::Succeeded => format!(
            "{}:{} promoted to {} ({})",
            spec.function_short_name(),
            spec.alias,
            spec.target_version,
            rollout.reason.as_deref().unwrap_or_default()
        ),
        _ => format!(
            "{}:{} {} on {} (step {}/{})",
            spec.function_short_name(),
            spec.alias,
            format_percent(rollout.weight),
            spec.target_version,
            rollout.step_index + 1,
            plan_steps
        ),
    };
    let outputs = vec![
        ("functionName".into(), spec.function_name.clone()),
        ("alias".into(), spec.alias.clone()),
        ("version".into(), spec.target_version.clone()),
        ("rolloutId".into(), rollout.rollout_id.clone()),
    ];
    let at = (
        rollout.status,
        rollout.step_index,
        plan_steps,
        rollout.rollout_id.as_str(),
    );
    let resume = (spec.function_name.as_str(), spec.alias.as_str());
    job_success(
        summary,
        rollout.control,
        resume,
        at,
        continuation_token,
        outputs,
    )
}

/// A job that goes on while nothing has started (the target not `Active` yet, since `since`).
fn waiting(since: DateTime<Utc>, user_parameters: &str, summary: String) -> JobSuccess {
    JobSuccess {
        continuation_token: Some(token::encode_waiting(since, user_parameters)),
        summary: summary.chars().take(2048).collect(),
        percent_complete: 0,
        external_execution_id: String::new(),
        output_variables: Vec::new(),
    }
}

/// A job's success: `summary` (saying so when an operator paused it: a job cannot be paused
/// and keeps going), how far it is (`at`: status, step, steps, rollout id), its token while
/// in flight, and `outputs` as output variables once promoted.
fn job_success(
    summary: String,
    control: Option<rollout_core::state::Control>,
    (function, alias): (&str, &str),
    (status, step_index, steps, rollout_id): (Status, usize, usize, &str),
    continuation_token: Option<String>,
    outputs: Vec<(String, String)>,
) -> JobSuccess {
    let summary = match control {
        Some(rollout_core::state::Control::Paused) => format!(
            "{summary}; paused by an operator (`rollout resume --function {function} --alias {alias}` to go on)"
        ),
        _ => summary,
    };
    let percent = match status {
        Status::Succeeded => 100,
        _ => (((step_index + 1) * 100 / steps.max(1)) as i32).min(99),
    };
    JobSuccess {
        continuation_token,
        summary: summary.chars().take(2048).collect(),
        percent_complete: percent,
        external_execution_id: rollout_id.to_string(),
        output_variables: match status {
            Status::Succeeded => outputs,
            _ => Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_parameters_must_be_a_valid_spec() {
        assert_eq!(
            user_parameters_spec("").unwrap_err().field,
            "UserParameters"
        );
        assert_eq!(
            user_parameters_spec("not json").unwrap_err().field,
            "UserParameters"
        );
        assert_eq!(
            user_parameters_spec(r#"{"functionName":"f","alias":"live","strategy":"AllAtOnce"}"#)
                .unwrap_err()
                .field,
            "targetVersion"
        );
        let bad_strategy =
            r#"{"functionName":"f","alias":"live","targetVersion":"2","strategy":"Fast"}"#;
        assert_eq!(
            user_parameters_spec(bad_strategy).unwrap_err().field,
            "strategy"
        );
    }

    mod waiting {
        use super::*;
        use crate::testing::{pending, t, FakeJobResults, World};
        use std::time::Duration;

        const PARAMS: &str = r#"{"functionName":"orders","alias":"live","targetVersion":"2","strategy":"Linear50PercentEvery1Minute"}"#;

        fn job(token: Option<&str>) -> PipelineJob {
            PipelineJob {
                id: "11111111-abcd-1111-abcd-111111abcdef".into(),
                user_parameters: PARAMS.into(),
                continuation_token: token.map(String::from),
            }
        }

        async fn invoke(
            world: &World,
            results: &FakeJobResults,
            token: Option<&str>,
            now: DateTime<Utc>,
        ) -> JobOutcome {
            let no_time = ReadyWait::up_to(Duration::ZERO);
            run_job(&world.driver(), world, results, &job(token), now, &no_time)
                .await
                .unwrap()
        }

        #[tokio::test]
        async fn a_pending_version_continues_later_saying_so_and_then_starts() {
            let (world, results) = (World::new(), FakeJobResults::default());
            world.aliases.script_versions([pending(), pending()]);
            let outcome = invoke(&world, &results, None, t(0)).await;
            assert!(matches!(outcome, JobOutcome::Waiting { .. }), "{outcome:?}");
            let waiting = results.take().unwrap();
            assert!(
                waiting.summary.starts_with(
                    "orders:live waiting for version 2 to be Active; no traffic shifted yet (version 2 of orders is Pending (Creating"
                ),
                "{}",
                waiting.summary
            );
            assert_eq!(
                (
                    waiting.percent_complete,
                    waiting.external_execution_id.as_str()
                ),
                (0, "")
            );
            let token = waiting.continuation_token.unwrap();
            assert!(token.starts_with("w1."), "{token}");
            assert_eq!(world.aliases.called("UpdateAlias"), 0, "nothing started");
            // Still Pending a minute later: the same wait goes on, since t(0).
            invoke(&world, &results, Some(&token), t(60)).await;
            let again = results.take().unwrap().continuation_token.unwrap();
            assert_eq!(again, token);
            // Active: the rollout starts, and the token now carries it.
            let outcome = invoke(&world, &results, Some(&token), t(120)).await;
            assert!(matches!(outcome, JobOutcome::Continue(_)), "{outcome:?}");
            assert!(results
                .take()
                .unwrap()
                .continuation_token
                .unwrap()
                .starts_with("r1."));
        }

        #[tokio::test]
        async fn a_paused_rollout_keeps_the_job_going_saying_so_and_shifts_nothing() {
            use crate::driver::ControlRequest;
            use rollout_core::engine::control::Operator;
            let (world, results) = (World::new(), FakeJobResults::default());
            invoke(&world, &results, None, t(0)).await;
            let mut token = results.take().unwrap().continuation_token.unwrap();
            let asked = |op| ControlRequest {
                function: "orders",
                alias: "live",
                op,
                reason: "looking",
                topic: None,
            };
            world
                .driver()
                .control(asked(Operator::Pause), t(5))
                .await
                .unwrap();
            // Invocations long past the hold: each continues, paused, on the same weight.
            for at in [120, 240] {
                let outcome = invoke(&world, &results, Some(&token), t(at)).await;
                assert!(matches!(outcome, JobOutcome::Continue(_)), "{outcome:?}");
                let success = results.take().unwrap();
                assert!(
                    success
                        .summary
                        .contains("50% on 2 (step 1/2); paused by an operator"),
                    "{}",
                    success.summary
                );
                token = success.continuation_token.unwrap();
                assert_eq!(world.aliases.now().routing, Some(("2".into(), 0.5)));
            }
            world
                .driver()
                .control(asked(Operator::Resume), t(250))
                .await
                .unwrap();
            invoke(&world, &results, Some(&token), t(260)).await;
            token = results.take().unwrap().continuation_token.unwrap();
            let outcome = invoke(&world, &results, Some(&token), t(261)).await;
            assert!(matches!(outcome, JobOutcome::Succeeded(_)), "{outcome:?}");
        }

        #[tokio::test]
        async fn a_version_pending_for_ten_minutes_fails_the_job_naming_its_state() {
            let (world, results) = (World::new(), FakeJobResults::default());
            world.aliases.script_versions([pending(), pending()]);
            invoke(&world, &results, None, t(0)).await;
            let token = results.take().unwrap().continuation_token.unwrap();
            invoke(&world, &results, Some(&token), t(600)).await;
            let (kind, message) = results.take().unwrap_err();
            assert_eq!(kind, FailureKind::JobFailed);
            assert!(
                message.contains("is Pending (Creating")
                    && message.contains("gave up 10m after the first attempt"),
                "{message}"
            );
        }
    }
}
