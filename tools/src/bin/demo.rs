//! The local demo (the README's first command): in a private ministack, a canary rollout that
//! promotes, one that an alarm rolls back, and one that the canary judgement rolls back on
//! the new version's own metrics while the alias-wide alarm stays OK, with the SNS alerts as
//! subscribers get them.

use std::process::Command;
use std::time::Duration;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
use rollout_testkit::fixture::{binary, World};
use rollout_testkit::Ministack;

const FUNCTION: &str = "orders-api";
const ALARM: &str = "orders-api-errors";
/// The usual alias-wide alarm: more than 50 errors a minute through the alias.
const ALIAS_ALARM: &str = "orders-api-alias-errors";

#[tokio::main]
async fn main() {
    println!("== lambda-rollout demo ==");
    let stack = Ministack::start().await;
    println!("local AWS (ministack) is up at {}", stack.endpoint());
    let world = World::new(&stack).await;
    world.function_with_two_versions(FUNCTION).await;
    let v3 = world.publish_version(FUNCTION, "three").await;
    world.alarm(ALARM, FUNCTION, None).await;
    println!(
        "created {FUNCTION} (versions 1, 2, {v3}), alias live -> 1, alarm {ALARM}, topic {}",
        world.topic_arn
    );
    println!("a queue subscribed to the topic collects every alert\n");

    println!("-- rollout 1: version 1 -> 2, canary 10% then 50%, watching {ALARM}");
    let code = rollout(&stack, &world, "2", "10%:3s,50%:3s");
    println!("rollout exited {code} (0 = promoted)\n");
    show_alerts(&world).await;

    println!("-- rollout 2: version 2 -> {v3}; a few seconds in, {ALARM} goes to ALARM");
    let alarm_world = World::new(&stack).await;
    let breach = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(4)).await;
        println!(
            "[{}] (demo) {ALARM} goes to ALARM, as a spike of errors would make it",
            chrono::Local::now().format("%H:%M:%S")
        );
        alarm_world.set_alarm(ALARM, StateValue::Alarm).await;
    });
    let code = tokio::task::spawn_blocking({
        let (endpoint_env, topic, v3) = (stack.env(), world.topic_arn.clone(), v3.clone());
        move || run_cli(endpoint_env, &topic, &v3, "10%:10s,50%:10s")
    })
    .await
    .expect("rollout 2");
    breach.await.expect("breach");
    println!("rollout exited {code} (3 = rolled back)\n");
    show_alerts(&world).await;
    let alias = world.alias(FUNCTION).await;
    match &alias.routing {
        None => println!(
            "alias live is on version {}, no traffic split",
            alias.version
        ),
        Some((v, w)) => println!("alias live is on version {} with {w} on {v}", alias.version),
    }
    third_act(&stack, &world).await;
    println!("== done: ministack stops now ==");
}

/// A version whose errors show only in its own metrics: the alias-wide alarm stays OK, the
/// canary judgement rolls it back. The demo writes per-version metrics as Lambda would.
async fn third_act(stack: &Ministack, world: &World) {
    let v4 = world.publish_version(FUNCTION, "four").await;
    let dimension = |n: &str, v: &str| Dimension::builder().name(n).value(v).build();
    world
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(ALIAS_ALARM)
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .dimensions(dimension("FunctionName", FUNCTION))
        .dimensions(dimension("Resource", &format!("{FUNCTION}:live")))
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(50.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("put_metric_alarm");
    world.set_alarm(ALIAS_ALARM, StateValue::Ok).await;
    println!(
        "-- rollout 3: version 2 -> {v4} with --analysis '{{}}', watching {ALIAS_ALARM} (> 50 errors a minute on the alias)"
    );
    println!("   version {v4} fails 30% of its calls; at 10% that is 3 points on the alias");
    let feeder = World::new(stack).await;
    let target = v4.clone();
    let traffic = tokio::spawn(async move {
        // Each second: 20 calls of the canary (6 fail), 180 of version 2 (1 fails).
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            feeder
                .put_version_metrics(FUNCTION, &target, 20, 6, 45.0)
                .await;
            feeder
                .put_version_metrics(FUNCTION, "2", 180, 1, 40.0)
                .await;
        }
    });
    let code = tokio::task::spawn_blocking({
        let (env, topic, v4) = (stack.env(), world.topic_arn.clone(), v4.clone());
        move || {
            let status = Command::new(binary("rollout"))
                .args([
                    "run",
                    "--function",
                    FUNCTION,
                    "--alias",
                    "live",
                    "--to",
                    &v4,
                ])
                .args(["--strategy", "10%:30s,50%:30s", "--analysis", "{}"])
                .args(["--alarm", ALIAS_ALARM, "--topic", &topic, "--poll", "1s"])
                .envs(env)
                .status()
                .expect("run rollout");
            status.code().unwrap_or(1)
        }
    })
    .await
    .expect("rollout 3");
    traffic.abort();
    println!("rollout exited {code} (3 = rolled back)\n");
    let alarm = world
        .cloudwatch
        .describe_alarms()
        .alarm_names(ALIAS_ALARM)
        .send()
        .await
        .expect("describe_alarms");
    if let Some(state) = alarm.metric_alarms().first().and_then(|a| a.state_value()) {
        println!("{ALIAS_ALARM} is {}", state.as_str());
    }
    show_alerts(world).await;
}

fn rollout(stack: &Ministack, world: &World, to: &str, strategy: &str) -> i32 {
    run_cli(stack.env(), &world.topic_arn, to, strategy)
}

fn run_cli(env: Vec<(String, String)>, topic: &str, to: &str, strategy: &str) -> i32 {
    let status = Command::new(binary("rollout"))
        .args([
            "run",
            "--function",
            FUNCTION,
            "--alias",
            "live",
            "--to",
            to,
            "--strategy",
            strategy,
        ])
        .args(["--alarm", ALARM, "--topic", topic, "--poll", "1s"])
        .envs(env)
        .status()
        .expect("run rollout");
    status.code().unwrap_or(1)
}

async fn show_alerts(world: &World) {
    let notes = world.notifications().await;
    println!("SNS alerts delivered ({}):", notes.len());
    for note in notes {
        let field = |k: &str| note[k].as_str().unwrap_or_default().to_string();
        let severity = note["_attributes"]["severity"]["Value"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        println!("  [{severity:>8}] {}", field("_subject"));
        println!(
            "             event={} status={} weight={}",
            field("event"),
            field("status"),
            note["weight"]
        );
        if let Some(reason) = note["reason"].as_str() {
            println!("             reason: {reason}");
        }
        let judged = &note["lastJudgement"];
        if let Some(verdict) = judged["verdict"].as_str() {
            println!(
                "             lastJudgement: {verdict}, v{} {}/{} errors vs v{} {}/{}",
                judged["target"]["version"].as_str().unwrap_or("?"),
                judged["target"]["errors"],
                judged["target"]["invocations"],
                judged["current"]["version"].as_str().unwrap_or("?"),
                judged["current"]["errors"],
                judged["current"]["invocations"]
            );
        }
        let alarms: Vec<String> = note["alarms"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| {
                        format!(
                            "{}={}",
                            x["name"].as_str().unwrap_or(""),
                            x["state"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !alarms.is_empty() {
            println!("             alarms: {}", alarms.join(", "));
        }
    }
    println!();
}
