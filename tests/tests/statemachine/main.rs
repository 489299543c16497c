//! The rollout state machine end to end in ministack: the definition that `infra/template.yaml`
//! deploys (`infra/statemachine/rollout.asl.json`), the real `traffic-shifter` binary running as
//! a `provided.al2023` function, and real executions. Ministack runs with `SFN_WAIT_SCALE=0`, so
//! every Wait state is skipped: a rollout still takes its holds because the shifter, called
//! again at once, answers "not yet" until a step is due.
//!
//! `history` holds what bounds an execution's history: the arithmetic, and a rollout that
//! continues as new executions.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sfn::types::{
    ExecutionStatus, HistoryEvent, HistoryEventType, MockErrorOutput, MockInput,
};
use rollout_testkit::fixture::World;
use rollout_testkit::host::repo_root;
use rollout_testkit::Ministack;
use serde_json::{json, Value};

mod history;
mod sets;

pub(crate) const SHIFTER: &str = "rollout-traffic-shifter";
const ALARM: &str = "orders-errors";
/// CloudFormation's `DefinitionSubstitutions` keys, as in the template: the shifter, and the
/// shifter calls an execution makes before it continues as a new one.
const SHIFTER_PLACEHOLDER: &str = "${TrafficShifterFunctionArn}";
const LOOPS_PLACEHOLDER: &str = "${LoopsPerExecution}";

/// One emulator with a function `orders` (versions 1 and 2, alias `live` on 1), its alarm,
/// the shifter deployed, and the state machine created from the repository's definition.
struct Rollouts {
    stack: Ministack,
    world: World,
    sfn: aws_sdk_sfn::Client,
    definition: String,
    machine_arn: String,
}

/// How an execution ended.
#[derive(Debug)]
struct Ended {
    status: ExecutionStatus,
    output: Value,
    error: Option<String>,
    cause: Option<String>,
    history: Vec<HistoryEvent>,
}

impl Rollouts {
    /// With the template's `LoopsPerExecution`.
    async fn new() -> Rollouts {
        Rollouts::with_loops(template_loops_per_execution()).await
    }

    /// With `loops` shifter calls per execution before it continues as a new one.
    async fn with_loops(loops: u64) -> Rollouts {
        let stack = Ministack::start().await;
        let world = World::new(&stack).await;
        world.function_with_two_versions("orders").await;
        world.alarm(ALARM, "orders", None).await;
        let topic = world.topic_arn.clone();
        world
            .deploy_binary(
                SHIFTER,
                "traffic-shifter",
                &[("NOTIFICATION_TOPIC_ARN", &topic)],
            )
            .await;
        let shifter_arn = world
            .lambda
            .get_function_configuration()
            .function_name(SHIFTER)
            .send()
            .await
            .expect("get_function_configuration")
            .function_arn()
            .expect("function arn")
            .to_string();
        let definition = definition(&shifter_arn, loops);
        let sfn = aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::config::Builder::from(&stack.sdk_config())
                .interceptor(NoSyncHostPrefix)
                .build(),
        );
        let machine_arn = sfn
            .create_state_machine()
            .name("lambda-rollout")
            .definition(&definition)
            .role_arn("arn:aws:iam::000000000000:role/rollout-state-machine")
            .send()
            .await
            .expect("create_state_machine")
            .state_machine_arn()
            .to_string();
        Rollouts {
            stack,
            world,
            sfn,
            definition,
            machine_arn,
        }
    }

    fn spec(&self, strategy: &str) -> Value {
        json!({
            "functionName": "orders",
            "alias": "live",
            "targetVersion": "2",
            "strategy": strategy,
            "alarms": [ALARM],
        })
    }

    async fn start(&self, input: &Value) -> String {
        self.sfn
            .start_execution()
            .state_machine_arn(&self.machine_arn)
            .input(input.to_string())
            .send()
            .await
            .expect("start_execution")
            .execution_arn()
            .to_string()
    }

    /// Polls the execution until it ends (a minute at most), then reads its history.
    async fn finish(&self, execution_arn: &str, started: Instant) -> Ended {
        let deadline = started + Duration::from_secs(60);
        loop {
            let out = self
                .sfn
                .describe_execution()
                .execution_arn(execution_arn)
                .send()
                .await
                .expect("describe_execution");
            if out.status() != &ExecutionStatus::Running {
                return Ended {
                    status: out.status().clone(),
                    output: out
                        .output()
                        .map(|o| serde_json::from_str(o).expect("output is JSON"))
                        .unwrap_or(Value::Null),
                    error: out.error().map(String::from),
                    cause: out.cause().map(String::from),
                    history: self.history(execution_arn).await,
                };
            }
            assert!(
                Instant::now() < deadline,
                "execution still running after a minute"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn run(&self, input: &Value) -> Ended {
        let started = Instant::now();
        let arn = self.start(input).await;
        self.finish(&arn, started).await
    }

    async fn history(&self, execution_arn: &str) -> Vec<HistoryEvent> {
        let mut events = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .sfn
                .get_execution_history()
                .execution_arn(execution_arn)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .expect("get_execution_history");
            events.extend(page.events().iter().cloned());
            match page.next_token() {
                Some(next) => token = Some(next.to_string()),
                None => return events,
            }
        }
    }

    /// Runs one state of the definition alone (Step Functions' TestState).
    async fn test_state(
        &self,
        state: &str,
        input: &Value,
        mock: Option<MockInput>,
    ) -> aws_sdk_sfn::operation::test_state::TestStateOutput {
        self.sfn
            .test_state()
            .definition(&self.definition)
            .state_name(state)
            .input(input.to_string())
            .role_arn("arn:aws:iam::000000000000:role/rollout-state-machine")
            .set_mock(mock)
            .send()
            .await
            .expect("test_state")
    }
}

impl Ended {
    /// The names of the states entered, in order.
    fn states(&self) -> Vec<String> {
        self.history
            .iter()
            .filter_map(|e| e.state_entered_event_details())
            .map(|d| d.name().to_string())
            .collect()
    }

    /// How many times a task was scheduled (each retry counts).
    fn tasks_scheduled(&self) -> usize {
        self.history
            .iter()
            .filter(|e| e.r#type() == &HistoryEventType::TaskScheduled)
            .count()
    }
}

/// The SDK sends TestState to AWS's `sync-` host (`sync-states.<region>…`), a name that does
/// not resolve locally; ministack answers it on its one endpoint.
#[derive(Debug)]
struct NoSyncHostPrefix;

impl Intercept for NoSyncHostPrefix {
    fn name(&self) -> &'static str {
        "NoSyncHostPrefix"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let uri = context.request().uri().replacen("://sync-", "://", 1);
        context.request_mut().set_uri(uri)?;
        Ok(())
    }
}

/// The ASL file with the substitutions CloudFormation makes from `DefinitionSubstitutions`.
fn definition(shifter_arn: &str, loops: u64) -> String {
    let path = repo_root().join("infra/statemachine/rollout.asl.json");
    let text = std::fs::read_to_string(&path).expect("read the state machine definition");
    for placeholder in [SHIFTER_PLACEHOLDER, LOOPS_PLACEHOLDER] {
        assert!(
            text.contains(placeholder),
            "{} uses {placeholder}",
            path.display()
        );
    }
    let substituted = text
        .replace(SHIFTER_PLACEHOLDER, shifter_arn)
        .replace(LOOPS_PLACEHOLDER, &loops.to_string());
    assert!(
        !substituted.contains("${"),
        "every placeholder has a substitution"
    );
    substituted
}

/// `LoopsPerExecution` as `infra/template.yaml` substitutes it.
fn template_loops_per_execution() -> u64 {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml"))
        .expect("read the template");
    text.lines()
        .find_map(|line| line.trim().strip_prefix("LoopsPerExecution:"))
        .and_then(|value| value.trim().parse().ok())
        .expect("the template substitutes LoopsPerExecution, a number")
}

/// What an execution carries while it drives `rollout` (the shifter sees only `rollout`).
fn driving(rollout: Value) -> Value {
    json!({"rollout": rollout, "generation": 0, "loopsLeft": 250})
}

fn weights(notifications: &[Value]) -> Vec<(String, f64)> {
    notifications
        .iter()
        .map(|n| {
            (
                n["event"].as_str().unwrap_or_default().to_string(),
                n["weight"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect()
}

#[tokio::test]
async fn promotes_through_custom_holds_that_the_shifter_times() {
    let r = Rollouts::new().await;
    let ended = r.run(&r.spec("25%:1s,50%:1s")).await;
    assert_eq!(ended.status, ExecutionStatus::Succeeded, "{ended:?}");
    assert_eq!(ended.output["status"], "Succeeded", "{}", ended.output);
    assert_eq!(ended.states().last().map(String::as_str), Some("Promoted"));
    let alias = r.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("2", None));
    let notifications = r.world.notifications().await;
    assert_eq!(
        weights(&notifications),
        [
            ("rollout.started".into(), 0.25),
            ("rollout.shifted".into(), 0.5),
            ("rollout.succeeded".into(), 1.0)
        ],
        "one notification per step, however often the shifter was asked"
    );
    // The Wait states were skipped, yet each one-second hold was kept: the shifter decided.
    let at: Vec<_> = notifications
        .iter()
        .map(|n| {
            chrono::DateTime::parse_from_rfc3339(n["timestamp"].as_str().unwrap_or_default())
                .expect("RFC 3339 timestamp")
        })
        .collect();
    for pair in at.windows(2) {
        assert!(pair[1] - pair[0] >= chrono::Duration::seconds(1), "{at:?}");
    }
    assert!(ended.tasks_scheduled() >= 3, "{:?}", ended.states());
}

#[tokio::test]
async fn refuses_to_start_while_an_alarm_fires_and_leaves_the_alias_untouched() {
    let r = Rollouts::new().await;
    r.world.set_alarm(ALARM, StateValue::Alarm).await;
    let before = r.world.alias("orders").await;
    let ended = r.run(&r.spec("25%:1s,50%:1s")).await;
    assert_eq!(ended.status, ExecutionStatus::Failed, "{ended:?}");
    assert_eq!(ended.error.as_deref(), Some("AlarmFiring"), "{ended:?}");
    assert!(
        ended.cause.as_deref().unwrap_or_default().contains(ALARM),
        "{ended:?}"
    );
    assert_eq!(ended.states(), ["Begin", "Start", "Step", "Refused"]);
    assert_eq!(
        ended.tasks_scheduled(),
        1,
        "the shifter's own refusal is never retried"
    );
    assert_eq!(
        r.world.alias("orders").await,
        before,
        "same version, no routing, same revision"
    );
}

#[tokio::test]
async fn an_invalid_spec_fails_at_once_naming_the_field() {
    let r = Rollouts::new().await;
    let before = r.world.alias("orders").await;
    let ended = r.run(&r.spec("Canary0Percent5Minutes")).await;
    assert_eq!(ended.error.as_deref(), Some("InvalidInput"), "{ended:?}");
    assert!(
        ended
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("strategy:"),
        "{ended:?}"
    );
    assert_eq!(ended.tasks_scheduled(), 1);
    assert_eq!(
        ended.states(),
        ["Begin", "Start", "Step", "Invalid", "Refused"],
        "a spec's InvalidInput is a refusal: nothing to put back"
    );
    assert_eq!(r.world.alias("orders").await, before);
    assert!(r.world.events().await.is_empty());
}

#[tokio::test]
async fn rolls_back_and_fails_when_an_alarm_fires_mid_rollout() {
    let r = Rollouts::new().await;
    let started = Instant::now();
    let execution = r.start(&r.spec("25%:4s")).await;
    // Wait for the first step to be live, then breach.
    while r.world.alias("orders").await.routing.is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first step never happened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    r.world.set_alarm(ALARM, StateValue::Alarm).await;
    let ended = r.finish(&execution, started).await;
    assert_eq!(ended.status, ExecutionStatus::Failed, "{ended:?}");
    assert_eq!(ended.error.as_deref(), Some("RolledBack"), "{ended:?}");
    assert!(
        ended.cause.as_deref().unwrap_or_default().contains(ALARM),
        "{ended:?}"
    );
    let alias = r.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    assert_eq!(
        r.world.events().await,
        ["rollout.started", "rollout.rolled_back"]
    );
}

#[tokio::test]
async fn refusals_end_the_execution_and_any_other_failure_aborts_first() {
    let r = Rollouts::new().await;
    let failing = |error: &str| {
        MockInput::builder()
            .error_output(MockErrorOutput::builder().error(error).cause("{}").build())
            .build()
    };
    for (error, next) in [
        // A refusal for a spec, an abort for a state in flight (see the Invalid state).
        ("InvalidInput", "Invalid"),
        // Once its retries are spent (ministack looks at Catch before Retry).
        ("VersionNotReady", "Refused"),
        ("AlarmFiring", "Refused"),
        ("AliasConflict", "Refused"),
        ("Lambda.Unknown", "Abort"),
        ("States.Timeout", "Abort"),
    ] {
        let out = r
            .test_state("Step", &driving(r.spec("25%:1s")), Some(failing(error)))
            .await;
        assert_eq!(out.next_state(), Some(next), "{error}: {out:?}");
    }
}

#[tokio::test]
async fn invalid_input_aborts_only_a_rollout_in_flight() {
    let r = Rollouts::new().await;
    let error = json!({"Error": "InvalidInput", "Cause": "{}"});
    let mut spec = driving(r.spec("25%:1s"));
    spec["error"] = error.clone();
    let out = r.test_state("Invalid", &spec, None).await;
    assert_eq!(out.next_state(), Some("Refused"), "{out:?}");
    let (failed, state) = r.world.invoke(SHIFTER, &r.spec("25%:1s")).await;
    assert_eq!(failed, None, "{state}");
    let mut in_flight = driving(state);
    in_flight["error"] = error;
    let out = r.test_state("Invalid", &in_flight, None).await;
    assert_eq!(out.next_state(), Some("Abort"), "{out:?}");
}

#[tokio::test]
async fn a_state_in_flight_that_the_shifter_refuses_is_put_back_and_announced() {
    let r = Rollouts::new().await;
    let (error, state) = r.world.invoke(SHIFTER, &r.spec("25%:1h")).await;
    assert_eq!(error, None, "{state}");
    assert_eq!(
        r.world.alias("orders").await.routing,
        Some(("2".into(), 0.25))
    );
    // The execution is handed the rollout with a field that no longer fits its plan (as a
    // state whose marker lost a field would be): the shifter refuses it as InvalidInput.
    let mut tampered = state;
    tampered["weight"] = json!(0.3);
    let ended = r.run(&tampered).await;
    assert_eq!(ended.status, ExecutionStatus::Failed, "{ended:?}");
    assert_eq!(ended.error.as_deref(), Some("InvalidInput"), "{ended:?}");
    assert!(
        ended
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("weight"),
        "{ended:?}"
    );
    assert_eq!(
        ended.states(),
        [
            "Begin",
            "Start",
            "Step",
            "Invalid",
            "Abort",
            "AbortToDefaultTopic",
            "Stopped"
        ]
    );
    let alias = r.world.alias("orders").await;
    assert_eq!(
        (alias.version.as_str(), alias.routing),
        ("1", None),
        "never left split"
    );
    let alerts = r.world.notifications().await;
    let events: Vec<_> = alerts.iter().map(|n| n["event"].as_str()).collect();
    assert_eq!(
        events,
        [Some("rollout.started"), Some("rollout.aborted")],
        "{alerts:?}"
    );
    assert!(
        alerts[1]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("InvalidInput"),
        "{}",
        alerts[1]
    );
}

#[tokio::test]
async fn the_abort_state_puts_a_stranded_alias_back() {
    let r = Rollouts::new().await;
    // A rollout stranded mid-shift: its execution's last step failed with a Lambda error.
    let (error, first) = r.world.invoke(SHIFTER, &r.spec("25%:1s")).await;
    assert_eq!(error, None, "{first}");
    assert_eq!(
        r.world.alias("orders").await.routing,
        Some(("2".into(), 0.25))
    );
    r.world.notifications().await;
    let mut input = driving(r.spec("25%:1s"));
    input["error"] = json!({"Error": "Lambda.Unknown", "Cause": "the shifter crashed"});
    let choice = r.test_state("Abort", &input, None).await;
    assert_eq!(
        choice.next_state(),
        Some("AbortToDefaultTopic"),
        "{choice:?}"
    );
    let out = r.test_state("AbortToDefaultTopic", &input, None).await;
    assert_eq!(out.next_state(), Some("Stopped"), "{out:?}");
    let alias = r.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    assert_eq!(r.world.events().await, ["rollout.aborted"]);
    // Then the execution fails with the error that stranded it.
    let output: Value = serde_json::from_str(out.output().expect("output")).expect("JSON");
    let stopped = r.test_state("Stopped", &output, None).await;
    assert_eq!(stopped.error(), Some("Lambda.Unknown"), "{stopped:?}");
}

#[tokio::test]
async fn the_abort_state_never_overwrites_someone_elses_split() {
    let r = Rollouts::new().await;
    // Another deployer split the alias; our execution then failed for its own reasons.
    r.world.set_alias("orders", "1", Some(("2", 0.3))).await;
    let mut input = driving(r.spec("25%:1s"));
    input["error"] = json!({"Error": "Lambda.Unknown", "Cause": "the shifter crashed"});
    let out = r.test_state("AbortToDefaultTopic", &input, None).await;
    assert_eq!(out.next_state(), Some("Stopped"), "{out:?}");
    assert_eq!(
        r.world.alias("orders").await.routing,
        Some(("2".into(), 0.3))
    );
    assert!(r.world.events().await.is_empty());
}

#[tokio::test]
async fn a_stopped_rollout_is_announced_on_the_topic_it_named() {
    let r = Rollouts::new().await;
    // A shifter with no default topic: the alert can only reach the rollout's own topic.
    const QUIET: &str = "rollout-traffic-shifter-quiet";
    r.world.deploy_binary(QUIET, "traffic-shifter", &[]).await;
    let quiet_arn = r
        .world
        .lambda
        .get_function_configuration()
        .function_name(QUIET)
        .send()
        .await
        .expect("get_function_configuration")
        .function_arn()
        .expect("function arn")
        .to_string();
    let mut spec = r.spec("25%:1s");
    spec["notificationTopicArn"] = json!(r.world.topic_arn);
    let (error, _) = r.world.invoke(QUIET, &spec).await;
    assert_eq!(error, None);
    assert_eq!(r.world.events().await, ["rollout.started"]);
    let mut input = driving(spec);
    input["error"] = json!({"Error": "Lambda.Unknown", "Cause": "the shifter crashed"});

    let choice = r.test_state("Abort", &input, None).await;
    assert_eq!(choice.next_state(), Some("AbortToItsTopic"), "{choice:?}");
    let out = r
        .sfn
        .test_state()
        .definition(definition(&quiet_arn, template_loops_per_execution()))
        .state_name("AbortToItsTopic")
        .input(input.to_string())
        .role_arn("arn:aws:iam::000000000000:role/rollout-state-machine")
        .send()
        .await
        .expect("test_state");
    assert_eq!(out.next_state(), Some("Stopped"), "{out:?}");
    let alias = r.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    assert_eq!(r.world.events().await, ["rollout.aborted"]);
}

#[tokio::test]
async fn promotes_a_version_published_a_moment_before_the_execution() {
    let r = Rollouts::new().await;
    let v3 = r.world.publish_version("orders", "three").await;
    let mut spec = r.spec("50%:1s");
    spec["targetVersion"] = json!(v3);
    let ended = r.run(&spec).await;
    assert_eq!(ended.status, ExecutionStatus::Succeeded, "{ended:?}");
    let alias = r.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), (v3.as_str(), None));
}

/// The Step state's retry policy, as the definition states it (an emulator cannot keep a
/// version `Pending` long enough to run it): `VersionNotReady` is retried with backoff for a
/// bounded time; a refusal never is.
#[test]
fn version_not_ready_is_retried_with_backoff_for_a_bounded_time_and_refusals_never() {
    let definition: Value = serde_json::from_str(&definition(
        "arn:aws:lambda:us-east-1:000000000000:function:shifter",
        template_loops_per_execution(),
    ))
    .expect("JSON");
    let retriers = definition["States"]["Step"]["Retry"]
        .as_array()
        .expect("Retry");
    let retried = |error: &str| {
        retriers.iter().find(|r| {
            r["ErrorEquals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == error)
        })
    };
    for refusal in ["InvalidInput", "AlarmFiring", "AliasConflict"] {
        assert!(retried(refusal).is_none(), "{refusal} must not be retried");
    }
    let retrier = retried("VersionNotReady").expect("VersionNotReady is retried");
    let (interval, attempts, rate) = (
        retrier["IntervalSeconds"].as_f64().unwrap(),
        retrier["MaxAttempts"].as_u64().unwrap(),
        retrier["BackoffRate"].as_f64().unwrap(),
    );
    let max_delay = retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::MAX);
    assert!(rate > 1.0, "with backoff");
    let between: f64 = (0..attempts)
        .map(|i| (interval * rate.powi(i as i32)).min(max_delay))
        .sum();
    // Each attempt also waits inside the shifter, up to its timeout (90 s) less 20 s.
    let total = between + (attempts + 1) as f64 * 70.0;
    assert!((300.0..=900.0).contains(&total), "{total} s in all");
}

#[tokio::test]
async fn a_failed_canary_judgement_rolls_back_and_fails_with_the_numbers() {
    let r = Rollouts::new().await;
    let started = Instant::now();
    // The judgement alone, no alarms. (ministack matches an alarm's dimensions as a subset,
    // so the fixture's alias alarm would also fire on per-version errors; CloudWatch doesn't.)
    let mut spec = r.spec("25%:4s");
    spec["alarms"] = json!([]);
    spec["analysis"] = json!({});
    let execution = r.start(&spec).await;
    while r.world.alias("orders").await.routing.is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first step never happened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    r.world
        .put_version_metrics("orders", "2", 100, 30, 40.0)
        .await;
    r.world
        .put_version_metrics("orders", "1", 300, 1, 40.0)
        .await;
    let ended = r.finish(&execution, started).await;
    assert_eq!(ended.status, ExecutionStatus::Failed, "{ended:?}");
    assert_eq!(ended.error.as_deref(), Some("RolledBack"), "{ended:?}");
    let cause = ended.cause.as_deref().unwrap_or_default();
    assert!(
        cause.contains("canary judgement failed: v2 failed 30 of 100 calls (30%)"),
        "{cause}"
    );
    let alias = r.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    let alerts = r.world.notifications().await;
    let back = alerts
        .iter()
        .find(|n| n["event"] == "rollout.rolled_back")
        .expect("alert");
    assert_eq!(back["lastJudgement"]["verdict"], "fail", "{back}");
}

/// The shifter's answers (in the `Step` state's output) in the order the execution got them.
fn step_answers(ended: &Ended) -> Vec<Value> {
    ended
        .history
        .iter()
        .filter_map(|e| e.state_exited_event_details())
        .filter(|d| d.name() == "Step")
        .filter_map(|d| d.output())
        .filter_map(|o| serde_json::from_str::<Value>(o).ok())
        .map(|output| output["answer"]["rollout"].clone())
        .collect()
}

#[tokio::test]
async fn a_paused_execution_holds_within_the_check_interval_until_resumed() {
    let r = Rollouts::new().await;
    let started = Instant::now();
    let execution = r.start(&r.spec("50%:2s")).await;
    r.world.until_split("orders").await;
    let operator = |command: &str| {
        rollout_testkit::fixture::rollout_cli(
            &r.stack,
            &[
                command,
                "--function",
                "orders",
                "--alias",
                "live",
                "--reason",
                "by hand",
            ],
        )
    };
    let paused = operator("pause");
    assert_eq!(paused.status.code(), Some(0), "{paused:?}");
    let held = r.world.alias("orders").await;
    // Longer than the hold: the shifter, asked again and again (the Wait is skipped here),
    // answers paused each time and shifts nothing.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(r.world.alias("orders").await, held, "no step while paused");
    let resumed = operator("resume");
    assert_eq!(resumed.status.code(), Some(0), "{resumed:?}");
    let ended = r.finish(&execution, started).await;
    assert_eq!(ended.status, ExecutionStatus::Succeeded, "{ended:?}");
    let answers = step_answers(&ended);
    let while_paused: Vec<&Value> = answers
        .iter()
        .filter(|a| a["control"] == "Paused")
        .collect();
    assert!(!while_paused.is_empty(), "{answers:?}");
    for answer in &while_paused {
        // A resume or a promote is taken within a minute, never a whole hold later.
        assert_eq!(answer["waitSeconds"], 60, "{answer}");
        assert_eq!(
            (answer["status"].as_str(), answer["weight"].as_f64()),
            (Some("InProgress"), Some(0.5))
        );
    }
    // A long hold is asked about at least every minute too (a promote is taken within one).
    assert!(
        answers
            .iter()
            .all(|a| a["waitSeconds"].as_u64().unwrap_or(0) <= 60),
        "{answers:?}"
    );
    assert_eq!(
        r.world.events().await,
        ["rollout.started", "rollout.succeeded"],
        "the operator gave no topic: only the shifter's own events"
    );
}

#[tokio::test]
async fn a_promote_during_an_hour_long_hold_is_taken_by_the_next_call() {
    let r = Rollouts::new().await;
    let started = Instant::now();
    let execution = r.start(&r.spec("10%:1h")).await;
    r.world.until_split("orders").await;
    let promoted = rollout_testkit::fixture::rollout_cli(
        &r.stack,
        &["promote", "--function", "orders", "--alias", "live"],
    );
    assert_eq!(promoted.status.code(), Some(0), "{promoted:?}");
    let ended = r.finish(&execution, started).await;
    assert_eq!(ended.status, ExecutionStatus::Succeeded, "{ended:?}");
    let alias = r.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("2", None));
    let answers = step_answers(&ended);
    let first = &answers[0];
    assert_eq!(
        first["waitSeconds"], 60,
        "an hour's hold is asked about every minute: {first}"
    );
}
