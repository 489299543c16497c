//! The shifter as a CodePipeline Invoke action: job results go to the recording CodePipeline
//! stub, everything else to ministack. In-process tests move the clock; one test runs the
//! real binary and checks that the job's credentials never reach a log.

use std::ops::Deref;

use aws_sdk_cloudwatch::types::StateValue;
use chrono::{DateTime, Utc};
use rollout_aws::codepipeline::CodePipelineResults;
use rollout_testkit::clock::{later, t0};
use rollout_testkit::RecordingStub;
use rollout_usecases::pipeline::{run_job, JobOutcome};
use rollout_usecases::readiness::ReadyWait;
use serde_json::{json, Value};
use traffic_shifter::{parse_job, JOB_KEY};

/// The kit's setup with `orders` and its alarm, and a CodePipeline stub for the job results.
struct Setup {
    setup: rollout_testkit::Setup,
    stub: RecordingStub,
    results: CodePipelineResults,
}

impl Deref for Setup {
    type Target = rollout_testkit::Setup;

    fn deref(&self) -> &rollout_testkit::Setup {
        &self.setup
    }
}

impl Setup {
    async fn new() -> Setup {
        let setup = rollout_testkit::Setup::new().await;
        setup.function("orders").await;
        let stub = RecordingStub::start([]);
        let results = CodePipelineResults::from_config(&stub.sdk_config());
        Setup {
            setup,
            stub,
            results,
        }
    }

    fn params(&self, strategy: &str) -> String {
        json!({"functionName": "orders", "alias": "live", "targetVersion": "2", "strategy": strategy,
               "alarms": ["orders-errors"], "notificationTopicArn": self.world.topic_arn})
        .to_string()
    }

    /// One invocation with up to 30 s to wait for a `Pending` version, as the shifter has.
    async fn invoke(
        &self,
        user_parameters: &str,
        token: Option<&str>,
        now: DateTime<Utc>,
    ) -> JobOutcome {
        self.invoke_waiting(
            user_parameters,
            token,
            now,
            std::time::Duration::from_secs(30),
        )
        .await
    }

    async fn invoke_waiting(
        &self,
        user_parameters: &str,
        token: Option<&str>,
        now: DateTime<Utc>,
        wait: std::time::Duration,
    ) -> JobOutcome {
        let job = parse_job(job_event(user_parameters, token)).expect("job parses");
        let driver = self.adapters.driver("traffic-shifter", &[], None);
        let places = rollout_aws::places::AwsPlaces::new(&self.adapters, &self.stack.sdk_config());
        run_job(
            &driver,
            &places,
            &self.results,
            &job,
            now,
            &ReadyWait::up_to(wait),
        )
        .await
        .expect("result reported")
    }

    /// The one result the stub got since the last call, as (operation, body).
    fn last_result(&self) -> (String, Value) {
        let requests = self.stub.requests();
        self.stub.clear();
        assert_eq!(
            requests.len(),
            1,
            "exactly one job result per invocation: {requests:?}"
        );
        (
            requests[0].operation().to_string(),
            requests[0].body.clone(),
        )
    }
}

fn job_event(user_parameters: &str, token: Option<&str>) -> Value {
    let mut event = rollout_testkit::events::load("codepipeline-job.json");
    let data = &mut event[JOB_KEY]["data"];
    data["actionConfiguration"]["configuration"]["UserParameters"] = user_parameters.into();
    if let Some(token) = token {
        data["continuationToken"] = token.into();
    }
    event
}

#[tokio::test]
async fn a_rollout_is_promoted_across_several_invocations() {
    let s = Setup::new().await;
    let params = s.params("Linear50PercentEvery1Minute");
    let outcome = s.invoke(&params, None, t0()).await;
    let JobOutcome::Continue(first) = outcome else {
        panic!("{outcome:?}")
    };
    // The rollout's own clock: its start waited for version 2 to be Active.
    let start = first.started_at;
    let (op, body) = s.last_result();
    assert_eq!(op, "PutJobSuccessResult");
    assert_eq!(body["jobId"], "11111111-abcd-1111-abcd-111111abcdef");
    assert_eq!(
        body["executionDetails"]["summary"],
        "orders:live 50% on 2 (step 1/2)"
    );
    assert_eq!(body["executionDetails"]["percentComplete"], 50);
    let token = body["continuationToken"]
        .as_str()
        .expect("a token while in flight")
        .to_string();
    assert!(token.len() <= 2048);
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.5))
    );

    // Not yet due: alarms re-checked, same token back, alias unchanged.
    s.invoke(&params, Some(&token), later(start, 20)).await;
    let (_, body) = s.last_result();
    assert!(body["continuationToken"].is_string());
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.5))
    );

    let token = body["continuationToken"].as_str().unwrap().to_string();
    s.invoke(&params, Some(&token), later(start, 60)).await;
    let (op, body) = s.last_result();
    assert_eq!(op, "PutJobSuccessResult");
    assert!(body.get("continuationToken").is_none(), "done: no token");
    assert_eq!(body["outputVariables"]["version"], "2");
    assert_eq!(body["outputVariables"]["alias"], "live");
    assert_eq!(body["executionDetails"]["percentComplete"], 100);
    assert_eq!(s.world.alias("orders").await.version, "2");
}

#[tokio::test]
async fn a_breach_restores_the_alias_then_fails_the_job() {
    let s = Setup::new().await;
    let params = s.params("Linear50PercentEvery1Minute");
    let start = t0();
    s.invoke(&params, None, start).await;
    let (_, body) = s.last_result();
    let token = body["continuationToken"].as_str().unwrap().to_string();
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let outcome = s.invoke(&params, Some(&token), later(start, 10)).await;
    assert!(matches!(outcome, JobOutcome::Failed { .. }));
    let (op, body) = s.last_result();
    assert_eq!(op, "PutJobFailureResult");
    assert_eq!(body["failureDetails"]["type"], "JobFailed");
    assert!(body["failureDetails"]["message"]
        .as_str()
        .unwrap()
        .contains("orders-errors is in ALARM"));
    let alias = s.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
}

#[tokio::test]
async fn invalid_user_parameters_are_a_configuration_error_and_touch_nothing() {
    let s = Setup::new().await;
    let before = s.world.alias("orders").await;
    let cases = [
        ("not json".to_string(), "UserParameters"),
        (
            json!({"functionName": "orders", "alias": "live", "strategy": "AllAtOnce"}).to_string(),
            "targetVersion",
        ),
        (s.params("Canary10Percent0Minutes"), "strategy"),
    ];
    for (params, field) in cases {
        s.invoke(&params, None, t0()).await;
        let (op, body) = s.last_result();
        assert_eq!(op, "PutJobFailureResult");
        assert_eq!(body["failureDetails"]["type"], "ConfigurationError");
        assert!(
            body["failureDetails"]["message"]
                .as_str()
                .unwrap()
                .contains(field),
            "{body}"
        );
    }
    assert_eq!(s.world.alias("orders").await, before);
}

#[tokio::test]
async fn a_garbled_token_fails_the_job_and_touches_nothing() {
    let s = Setup::new().await;
    let params = s.params("Linear50PercentEvery1Minute");
    let start = t0();
    s.invoke(&params, None, start).await;
    let (_, body) = s.last_result();
    let token = body["continuationToken"].as_str().unwrap().to_string();
    let before = s.world.alias("orders").await;
    let tampered = token.replacen("r1.", "r1.A", 1);
    s.invoke(&params, Some(&tampered), later(start, 60)).await;
    let (op, body) = s.last_result();
    assert_eq!(op, "PutJobFailureResult");
    assert!(
        body["failureDetails"]["message"]
            .as_str()
            .unwrap()
            .contains("continuationToken"),
        "{body}"
    );
    assert_eq!(s.world.alias("orders").await, before);
}

#[tokio::test]
async fn the_real_binary_reports_the_job_and_never_logs_its_credentials() {
    let s = Setup::new().await;
    let (key, url) = s.stub.env_for("CODEPIPELINE");
    s.world
        .deploy_binary(
            "shifter",
            "traffic-shifter",
            &[(&key, &url), ("RUST_LOG", "debug")],
        )
        .await;
    let event = job_event(&s.params("AllAtOnce"), None);
    let (error, _) = s.world.invoke("shifter", &event).await;
    assert_eq!(error, None);
    let (op, body) = s.last_result();
    assert_eq!(op, "PutJobSuccessResult");
    assert_eq!(body["outputVariables"]["version"], "2");
    // A garbled job (credentials of the wrong type) must not echo them either.
    let mut garbled = job_event("{}", None);
    garbled[JOB_KEY]["data"]["artifactCredentials"]["sessionToken"] =
        json!({"x": "SECRET-SESSION-TOKEN-DO-NOT-LOG"});
    let (error, answer) = s.world.invoke("shifter", &garbled).await;
    assert!(error.is_some(), "{answer}");
    assert!(!answer.to_string().contains("SECRET"), "{answer}");

    let logs = rollout_testkit::fixture::function_logs(&s.stack, "shifter").await;
    assert!(
        logs.contains("rollout event"),
        "the function's own logs are where we look:\n{logs}"
    );
    for secret in [
        "SECRET-ACCESS-KEY-DO-NOT-LOG",
        "SECRET-SESSION-TOKEN-DO-NOT-LOG",
        "ASIAEXAMPLEDONOTLOG",
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}

#[tokio::test]
async fn a_version_published_a_moment_ago_is_waited_for_by_a_continuation_then_rolled_out() {
    let s = Setup::new().await;
    let v3 = s.world.publish_version("orders", "three").await;
    let params = json!({"functionName": "orders", "alias": "live", "targetVersion": v3,
                        "strategy": "Linear50PercentEvery1Minute", "alarms": ["orders-errors"]})
    .to_string();
    let before = s.world.alias("orders").await;
    // An invocation with no time left to wait: it continues later and starts nothing.
    let start = t0();
    let outcome = s
        .invoke_waiting(&params, None, start, std::time::Duration::ZERO)
        .await;
    let rollout = match outcome {
        JobOutcome::Waiting { .. } => {
            let (op, body) = s.last_result();
            assert_eq!(op, "PutJobSuccessResult");
            let summary = body["executionDetails"]["summary"].as_str().unwrap();
            assert!(
                summary.starts_with(&format!(
                    "orders:live waiting for version {v3} to be Active; no traffic shifted yet"
                )),
                "{summary}"
            );
            assert_eq!(body["executionDetails"]["percentComplete"], 0);
            assert_eq!(s.world.alias("orders").await, before);
            let token = body["continuationToken"].as_str().unwrap().to_string();
            assert!(token.starts_with("w1."), "{token}");
            // CodePipeline calls again with the token: this one waits as it can, and starts.
            let outcome = s.invoke(&params, Some(&token), later(start, 30)).await;
            let JobOutcome::Continue(rollout) = outcome else {
                panic!("{outcome:?}")
            };
            rollout
        }
        // On a loaded host the emulator may have made it Active already (its Pending lasts
        // half a second): then the rollout starts at once. The continuation itself is
        // covered in rollout-usecases' pipeline tests.
        JobOutcome::Continue(rollout) => rollout,
        other => panic!("{other:?}"),
    };
    let (_, body) = s.last_result();
    assert_eq!(
        body["executionDetails"]["summary"],
        format!("orders:live 50% on {v3} (step 1/2)")
    );
    let token = body["continuationToken"].as_str().unwrap().to_string();
    let due = rollout.next_step_at.expect("holding");
    let outcome = s.invoke(&params, Some(&token), due).await;
    assert!(matches!(outcome, JobOutcome::Succeeded(_)), "{outcome:?}");
    s.last_result();
    assert_eq!(s.world.alias("orders").await.version, v3);
}

#[tokio::test]
async fn a_failed_canary_judgement_restores_the_alias_then_fails_the_job_with_the_evidence() {
    let s = Setup::new().await;
    let params = json!({"functionName": "orders", "alias": "live", "targetVersion": "2",
        "strategy": "Canary10Percent5Minutes", "notificationTopicArn": s.world.topic_arn,
        "analysis": {}})
    .to_string();
    let start = t0();
    s.invoke(&params, None, start).await;
    let (_, body) = s.last_result();
    let token = body["continuationToken"].as_str().unwrap().to_string();
    s.world
        .put_version_metrics("orders", "2", 100, 30, 40.0)
        .await;
    s.world
        .put_version_metrics("orders", "1", 900, 9, 40.0)
        .await;
    let outcome = s.invoke(&params, Some(&token), later(start, 60)).await;
    assert!(matches!(outcome, JobOutcome::Failed { .. }));
    let (op, body) = s.last_result();
    assert_eq!(op, "PutJobFailureResult");
    let message = body["failureDetails"]["message"].as_str().unwrap();
    assert!(
        message.contains("canary judgement failed: v2 failed 30 of 100 calls (30%)"),
        "{message}"
    );
    let alias = s.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
}

/// A release set of `orders` and two more functions, as a pipeline's UserParameters.
async fn set_params(s: &Setup) -> String {
    for f in ["orders-worker", "orders-audit"] {
        s.world.function_with_two_versions(f).await;
    }
    let members: Vec<Value> = ["orders", "orders-worker", "orders-audit"]
        .iter()
        .map(|f| json!({"functionName": f, "alias": "live", "targetVersion": "2"}))
        .collect();
    json!({"set": "checkout", "members": members, "strategy": "Linear50PercentEvery1Minute",
           "alarms": ["orders-errors"], "notificationTopicArn": s.world.topic_arn})
    .to_string()
}

#[tokio::test]
async fn a_release_set_is_promoted_across_several_invocations() {
    let s = Setup::new().await;
    let params = set_params(&s).await;
    let outcome = s.invoke(&params, None, t0()).await;
    let JobOutcome::SetContinue(first) = outcome else {
        panic!("{outcome:?}")
    };
    let start = first.started_at;
    let (op, body) = s.last_result();
    assert_eq!(op, "PutJobSuccessResult");
    assert_eq!(
        body["executionDetails"]["summary"],
        "checkout (3 functions) 50% on the new versions (step 1/2)"
    );
    let token = body["continuationToken"].as_str().unwrap().to_string();
    for f in ["orders", "orders-worker", "orders-audit"] {
        assert_eq!(
            s.world.alias(f).await.routing,
            Some(("2".into(), 0.5)),
            "{f}"
        );
    }
    s.invoke(&params, Some(&token), later(start, 20)).await;
    let (_, body) = s.last_result();
    let token = body["continuationToken"].as_str().unwrap().to_string();
    s.invoke(&params, Some(&token), later(start, 61)).await;
    let (op, body) = s.last_result();
    assert_eq!(op, "PutJobSuccessResult");
    assert!(body.get("continuationToken").is_none(), "done: no token");
    assert_eq!(body["outputVariables"]["set"], "checkout");
    for f in ["orders", "orders-worker", "orders-audit"] {
        assert_eq!(s.world.alias(f).await.version, "2", "{f}");
    }
}

#[tokio::test]
async fn a_breach_puts_every_member_of_a_set_back_then_fails_the_job() {
    let s = Setup::new().await;
    let params = set_params(&s).await;
    let start = t0();
    s.invoke(&params, None, start).await;
    let (_, body) = s.last_result();
    let token = body["continuationToken"].as_str().unwrap().to_string();
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let outcome = s.invoke(&params, Some(&token), later(start, 10)).await;
    assert!(matches!(outcome, JobOutcome::Failed { .. }), "{outcome:?}");
    let (op, body) = s.last_result();
    assert_eq!(op, "PutJobFailureResult");
    let message = body["failureDetails"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("RolledBack checkout (3 functions)"),
        "{message}"
    );
    for f in ["orders", "orders-worker", "orders-audit"] {
        let alias = s.world.alias(f).await;
        assert_eq!((alias.version.as_str(), alias.routing), ("1", None), "{f}");
    }
}
