//! An execution's history is bounded: a Standard execution fails once it has 25,000 events,
//! outside every Catch (no abort, no alert, traffic left split), so a rollout however long
//! held or paused continues as a new execution before it gets near that. The arithmetic is
//! checked on the definition; the continuation runs for real in ministack.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, MockErrorOutput, MockInput};
use serde_json::{json, Value};

use super::{definition, driving, template_loops_per_execution, Ended, Rollouts};

/// What Step Functions allows one Standard execution.
const HISTORY_LIMIT: u64 = 25_000;
/// What the bound below may reach: a fifth of the limit is kept for events this count leaves
/// out (none are known; the service's accounting is not ours to promise).
const BOUND_WITH_MARGIN: u64 = HISTORY_LIMIT * 4 / 5;

/// The most history events `state` adds each time it is entered: entered and exited, and for
/// a task three per attempt (scheduled, started, then succeeded, failed or timed out), every
/// retry its retriers allow included (ASL's default `MaxAttempts` is 3).
fn worst_events(state: &Value) -> u64 {
    let mut events = 2;
    if state["Type"] == "Task" {
        let retries: u64 = state["Retry"]
            .as_array()
            .map(|retriers| {
                retriers
                    .iter()
                    .map(|r| r["MaxAttempts"].as_u64().unwrap_or(3))
                    .sum()
            })
            .unwrap_or(0);
        events += 3 * (1 + retries);
    }
    events
}

/// The states `state` may move to.
fn targets(state: &Value) -> Vec<String> {
    let names = |v: &Value| v.as_str().map(String::from);
    let mut found: Vec<String> = [&state["Next"], &state["Default"]]
        .into_iter()
        .filter_map(names)
        .collect();
    for list in ["Choices", "Catch"] {
        if let Some(items) = state[list].as_array() {
            found.extend(items.iter().filter_map(|c| names(&c["Next"])));
        }
    }
    found
}

fn reachable(graph: &BTreeMap<String, Vec<String>>, from: &str) -> BTreeSet<String> {
    let (mut seen, mut todo) = (BTreeSet::new(), vec![from.to_string()]);
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone()) {
            todo.extend(graph[&name].iter().cloned());
        }
    }
    seen
}

#[test]
fn an_execution_stays_well_under_the_history_limit_retries_included() {
    let loops = template_loops_per_execution();
    let asl: Value = serde_json::from_str(&definition(
        "arn:aws:lambda:us-east-1:000000000000:function:shifter",
        loops,
    ))
    .expect("JSON");
    let states = asl["States"].as_object().expect("States");
    let graph: BTreeMap<String, Vec<String>> = states
        .iter()
        .map(|(name, state)| (name.clone(), targets(state)))
        .collect();

    // The loop: every state on a cycle through Step. It is the only cycle, so each other
    // state is entered at most once per execution.
    let the_loop: BTreeSet<String> = reachable(&graph, "Step")
        .into_iter()
        .filter(|name| reachable(&graph, name).contains("Step"))
        .collect();
    assert_eq!(
        the_loop,
        ["Count", "Hold", "Status", "Step"]
            .into_iter()
            .map(String::from)
            .collect::<BTreeSet<_>>()
    );
    for name in graph.keys().filter(|n| !the_loop.contains(*n)) {
        let onward: BTreeSet<String> = graph[name]
            .iter()
            .filter(|t| !the_loop.contains(*t))
            .flat_map(|t| reachable(&graph, t))
            .collect();
        assert!(!onward.contains(name), "{name} is on a second cycle");
    }

    // Each execution starts its allowance from the substitution, each loop spends one, and
    // a rollout in progress with none left leaves the loop before its hold.
    let allowance = format!("States.StringToJson('{loops}')");
    for head in ["Start", "Resume"] {
        assert_eq!(
            states[head]["Parameters"]["loopsLeft.$"], allowance,
            "{head}"
        );
    }
    let entries: Vec<&String> = graph
        .iter()
        .filter(|(name, to)| {
            let enters = to.iter().any(|t| the_loop.contains(t));
            enters && !the_loop.contains(*name)
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        entries,
        ["Resume", "Start"],
        "the loop is entered only from"
    );
    assert_eq!(
        states["Count"]["Parameters"]["loopsLeft.$"],
        "States.MathAdd($.loopsLeft, -1)"
    );
    let first = &states["Status"]["Choices"][0];
    assert_eq!(
        first["And"],
        json!([
            {"Variable": "$.rollout.status", "StringEquals": "InProgress"},
            {"Variable": "$.loopsLeft", "NumericLessThanEquals": 0}
        ])
    );
    let leaves_to = first["Next"].as_str().expect("Next");
    assert!(!the_loop.contains(leaves_to), "{leaves_to}");

    let per_loop: u64 = the_loop
        .iter()
        .map(|name| worst_events(&states[name]))
        .sum();
    let once: u64 = states
        .iter()
        .filter(|(name, _)| !the_loop.contains(*name))
        .map(|(_, state)| worst_events(state))
        .sum();
    // ExecutionStarted, and the execution's end.
    let bound = 2 + loops * per_loop + once;
    assert!(
        bound <= BOUND_WITH_MARGIN,
        "{loops} loops × {per_loop} + {once} + 2 = {bound} events at worst; keep it within \
         {BOUND_WITH_MARGIN} of the {HISTORY_LIMIT} an execution may have"
    );
    // A loop lasts up to a minute while paused or holding: continuing much more often than
    // hourly would only make executions for people to follow.
    assert!(loops >= 60, "{loops} loops per execution");
}

#[tokio::test]
async fn a_paused_rollout_continues_as_new_executions_and_ends_as_it_would_have() {
    const LOOPS: u64 = 3;
    let r = Rollouts::with_loops(LOOPS).await;
    let first = r.start(&r.spec("50%:2s")).await;
    r.world.until_split("orders").await;
    let operator = |command: &str| {
        rollout_testkit::fixture::rollout_cli(
            &r.stack,
            &[command, "--function", "orders", "--alias", "live"],
        )
    };
    let paused = operator("pause");
    assert_eq!(paused.status.code(), Some(0), "{paused:?}");
    // The Wait states are skipped here: paused, the shifter is asked again and again, each
    // execution spends its few loops and continues as the next.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resumed = operator("resume");
    assert_eq!(resumed.status.code(), Some(0), "{resumed:?}");

    let mut chain: Vec<(String, Ended)> = Vec::new();
    let mut arn = first;
    loop {
        let ended = r.finish(&arn, Instant::now()).await;
        let next = ended.output["continuedAs"]["executionArn"]
            .as_str()
            .map(String::from);
        chain.push((arn, ended));
        match next {
            Some(next) => arn = next,
            None => break,
        }
        assert!(chain.len() < 1000, "the rollout never ended");
    }
    assert!(
        chain.len() >= 3,
        "continued twice at least: {}",
        chain.len()
    );

    let (_, last) = chain.last().expect("an execution");
    assert_eq!(last.status, ExecutionStatus::Succeeded, "{last:?}");
    assert_eq!(last.states().last().map(String::as_str), Some("Promoted"));
    assert_eq!(last.output["status"], "Succeeded", "{}", last.output);
    let rollout_id = last.output["rolloutId"].as_str().expect("rolloutId");
    for (generation, (arn, ended)) in chain.iter().enumerate() {
        let steps = ended.states().iter().filter(|s| *s == "Step").count() as u64;
        let input: Value = serde_json::from_str(
            ended.history[0]
                .execution_started_event_details()
                .and_then(|d| d.input())
                .unwrap_or("{}"),
        )
        .expect("input is JSON");
        if generation > 0 {
            assert_eq!(input["generation"], generation, "{input}");
            assert_eq!(input["rollout"]["rolloutId"], rollout_id, "{input}");
            let name = arn.rsplit(':').next().unwrap_or_default();
            assert!(
                name.starts_with(&format!("{rollout_id}-{generation}-")),
                "{name}"
            );
        }
        if generation + 1 < chain.len() {
            assert_eq!(ended.status, ExecutionStatus::Succeeded, "{ended:?}");
            assert_eq!(
                ended.states().last().map(String::as_str),
                Some("ContinuedAsNewExecution")
            );
            assert_eq!(steps, LOOPS, "{:?}", ended.states());
        } else {
            assert!(steps <= LOOPS, "{:?}", ended.states());
        }
    }
    let alias = r.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("2", None));
    assert_eq!(
        r.world.events().await,
        ["rollout.started", "rollout.succeeded"],
        "one rollout, however many executions drove it"
    );
}

#[tokio::test]
async fn a_continuation_already_started_is_not_started_again_and_one_that_fails_aborts() {
    let r = Rollouts::new().await;
    let (error, state) = r.world.invoke(super::SHIFTER, &r.spec("25%:1h")).await;
    assert_eq!(error, None, "{state}");
    let mut input = driving(state);
    input["loopsLeft"] = json!(0);
    let failing = |error: &str| {
        MockInput::builder()
            .error_output(MockErrorOutput::builder().error(error).cause("{}").build())
            .build()
    };
    for (error, next) in [
        // The start landed and its answer was lost; the retry found the name taken.
        (
            "StepFunctions.ExecutionAlreadyExistsException",
            "ContinuedAsNewExecution",
        ),
        // No one would drive the rollout: put the alias back.
        ("StepFunctions.AccessDeniedException", "Abort"),
        ("States.Timeout", "Abort"),
    ] {
        let out = r.test_state("Continue", &input, Some(failing(error))).await;
        assert_eq!(out.next_state(), Some(next), "{error}: {out:?}");
    }
}
