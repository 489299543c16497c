//! traffic-shifter's handler: a CodePipeline job event, or a spec, a state or an abort action
//! in; one rollout step (`rollout_usecases::shifter`, `rollout_usecases::pipeline`); the
//! state, or Lambda's `errorType`, out.

use std::time::Duration;

use aws_lambda_events::event::codepipeline_job::CodePipelineJobEvent;
use chrono::{DateTime, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use rollout_core::InvalidField;
use rollout_lambda::diagnostic;
use rollout_usecases::driver::Driver;
use rollout_usecases::failure::{notification_failed, Failure};
use rollout_usecases::pipeline::{outcome_json, run_job, PipelineJob};
use rollout_usecases::ports::{JobResults, Places};
use rollout_usecases::readiness::{deadline_from_epoch_millis, ReadyWait};
use rollout_usecases::request::ShifterRequest;
use rollout_usecases::shifter::carry_out;
use serde_json::Value;

/// The event key that marks a CodePipeline job.
pub const JOB_KEY: &str = "CodePipeline.job";

/// What an invocation keeps back from its deadline after waiting for a `Pending` version,
/// to start the rollout and answer: a start is a handful of calls, each bounded by the SDK's
/// retries (the template's timeout leaves room for both).
pub const WAIT_MARGIN: Duration = Duration::from_secs(20);

/// Everything the traffic-shifter function accepts: a CodePipeline job, or a spec, a state
/// or an abort action. The event is never logged: a job carries artifact credentials.
/// A `Pending` target is waited for until [`WAIT_MARGIN`] before the invocation's deadline.
pub async fn dispatch(
    driver: &Driver<'_>,
    places: &dyn Places,
    results: &dyn JobResults,
    event: LambdaEvent<Value>,
    now: DateTime<Utc>,
) -> Result<Value, Diagnostic> {
    let deadline = deadline_from_epoch_millis(event.context.deadline);
    let ready = ReadyWait::within(deadline, WAIT_MARGIN);
    answer(driver, places, results, event.payload, now, &ready)
        .await
        .map_err(diagnostic)
}

async fn answer(
    driver: &Driver<'_>,
    places: &dyn Places,
    results: &dyn JobResults,
    event: Value,
    now: DateTime<Utc>,
    ready: &ReadyWait<'_>,
) -> Result<Value, Failure> {
    if is_job(&event) {
        let job = parse_job(event)?;
        let outcome = run_job(driver, places, results, &job, now, ready).await?;
        return Ok(outcome_json(&outcome));
    }
    let request = ShifterRequest::parse(event)?;
    let (answer, warning) = carry_out(driver, places, request, now, ready).await?;
    match warning {
        // The alias is safe; the invocation fails so that a retry (a replay) can tell people.
        Some(warning) => Err(notification_failed(warning)),
        None => Ok(answer),
    }
}

/// Whether the event is a CodePipeline job.
pub fn is_job(event: &Value) -> bool {
    event.get(JOB_KEY).is_some()
}

/// The parts of a CodePipeline job event the action uses. The event carries artifact
/// credentials: they are dropped here, and a parse error names only the path that failed,
/// never a value.
pub fn parse_job(event: Value) -> Result<PipelineJob, InvalidField> {
    let job: CodePipelineJobEvent = serde_path_to_error::deserialize(event).map_err(|e| {
        // Only the path: a value in the message could be a credential.
        InvalidField::new(
            "CodePipeline.job",
            format!("is not a valid job event (at {})", e.path()),
        )
    })?;
    let job = job.code_pipeline_job;
    let id = job
        .id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| InvalidField::new("CodePipeline.job.id", "is required"))?;
    Ok(PipelineJob {
        id,
        user_parameters: job
            .data
            .action_configuration
            .configuration
            .user_parameters
            .unwrap_or_default(),
        continuation_token: job.data.continuation_token.filter(|t| !t.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use lambda_runtime::Context;
    use rollout_core::AlarmState;
    use rollout_usecases::testing::{sample, spec, t, FakeJobResults, FakeNotifier, World, RID};
    use serde_json::json;

    fn invocation(payload: Value) -> LambdaEvent<Value> {
        LambdaEvent::new(payload, Context::default())
    }

    fn job_event(user_parameters: &str, token: Option<&str>) -> Value {
        let mut event = sample("codepipeline-job.json");
        let data = &mut event[JOB_KEY]["data"];
        data["actionConfiguration"]["configuration"]["UserParameters"] = user_parameters.into();
        if let Some(token) = token {
            data["continuationToken"] = token.into();
        }
        event
    }

    #[test]
    fn the_sample_job_parses_and_keeps_no_credentials() {
        let event = job_event(r#"{"functionName":"orders"}"#, Some("r1.x.y"));
        assert!(is_job(&event));
        let job = parse_job(event).unwrap();
        assert_eq!(job.continuation_token.as_deref(), Some("r1.x.y"));
        assert!(
            !format!("{job:?}").contains("SECRET"),
            "Debug shows no parameters or credentials"
        );
    }

    #[test]
    fn a_malformed_job_is_named_by_path_without_values() {
        let mut event = job_event("{}", None);
        event[JOB_KEY]["data"]["artifactCredentials"]["secretAccessKey"] = json!(["SECRET-VALUE"]);
        let err = parse_job(event).unwrap_err();
        assert!(err.problem.contains("artifactCredentials"), "{err}");
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }

    #[tokio::test]
    async fn the_sample_spec_starts_and_its_state_steps() {
        let (world, results) = (World::new(), FakeJobResults::default());
        let driver = world.driver();
        let started = dispatch(
            &driver,
            &world,
            &results,
            invocation(sample("spec.json")),
            t(0),
        )
        .await
        .unwrap();
        assert_eq!(
            (&started["status"], &started["weight"]),
            (&json!("InProgress"), &json!(0.1))
        );
        assert_eq!(world.aliases.routing_now(), Some(("2".into(), 0.1)));
        let held = dispatch(
            &driver,
            &world,
            &results,
            invocation(started.clone()),
            t(10),
        )
        .await
        .unwrap();
        assert_eq!(
            held["stepIndex"], started["stepIndex"],
            "held for 5 minutes"
        );
        assert!(results.results.lock().unwrap().is_empty(), "no job here");
    }

    #[tokio::test]
    async fn a_job_event_goes_to_codepipeline_with_a_continuation_token() {
        let (world, results) = (World::new(), FakeJobResults::default());
        let params = r#"{"functionName":"orders","alias":"live","targetVersion":"2","strategy":"Linear50PercentEvery1Minute"}"#;
        let answer = dispatch(
            &world.driver(),
            &world,
            &results,
            invocation(job_event(params, None)),
            t(0),
        )
        .await
        .unwrap();
        assert_eq!(answer["status"], "InProgress");
        let success = results.take().unwrap();
        assert!(success.continuation_token.unwrap().starts_with("r1."));
    }

    #[tokio::test]
    async fn a_bad_request_fails_as_invalid_input_and_touches_nothing() {
        let (world, results) = (World::new(), FakeJobResults::default());
        let mut spec = sample("spec.json");
        spec["strategy"] = "Fast".into();
        let failed = dispatch(&world.driver(), &world, &results, invocation(spec), t(0))
            .await
            .unwrap_err();
        assert_eq!(failed.error_type, "InvalidInput");
        assert!(failed.error_message.contains("strategy"), "{failed:?}");
        assert!(world.aliases.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_rollback_nobody_was_told_of_fails_as_notification_failed_after_the_alias_is_safe() {
        let (world, results) = (World::new(), FakeJobResults::default());
        let started = world
            .driver()
            .start(&spec(), RID.into(), t(0), &ReadyWait::up_to(Duration::ZERO))
            .await
            .unwrap()
            .rollout;
        let failing = World {
            notifier: FakeNotifier {
                refuse: true,
                ..FakeNotifier::default()
            },
            ..world
        };
        failing.alarms.set(AlarmState::Alarm);
        let state = serde_json::to_value(&started).unwrap();
        let failed = dispatch(
            &failing.driver(),
            &failing,
            &results,
            invocation(state),
            t(5),
        )
        .await
        .unwrap_err();
        assert_eq!(failed.error_type, "NotificationFailed");
        assert_eq!(
            failing.aliases.now().routing,
            None,
            "the alias is safe first"
        );
    }
}
