//! The local demo (the README's first command): in a private ministack, a canary rollout that
//! promotes, one that an alarm rolls back, one that the canary judgement rolls back on the new
//! version's own metrics while the alias-wide alarm stays OK, and one an operator pauses,
//! resumes and promotes from a second terminal, with the SNS alerts as subscribers get them;
//! then the pictures: the report of the alarm's rollback and the alias's dashboard, kept in
//! `target/demo/`. It exits 1 if a command did not end as its act means to show.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
use rollout_testkit::fixture::{binary, World};
use rollout_testkit::report_html::{attribute_values, outcome_field};
use rollout_testkit::Ministack;
use serde_json::Value;

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
    let mut tally = Tally::default();

    println!("-- rollout 1: version 1 -> 2, canary 10% then 50%, watching {ALARM}");
    let code = rollout(&stack, &world, "2", "10%:3s,50%:3s");
    tally.exited("rollout", code, 0, "promoted");
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
    tally.exited("rollout", code, 3, "rolled back");
    show_alerts(&world).await;
    let alias = world.alias(FUNCTION).await;
    match &alias.routing {
        None => println!(
            "alias live is on version {}, no traffic split",
            alias.version
        ),
        Some((v, w)) => println!("alias live is on version {} with {w} on {v}", alias.version),
    }
    // Now, while the alias still records this rollout: the next one's marker replaces the
    // outcome (status, why) the report shows.
    let report = pictures_dir().join("report.html");
    let code = write_report(&stack, &report);
    tally.expect("rollout report", code, 0);
    println!();
    tally.exited("rollout", third_act(&stack, &world).await, 3, "rolled back");
    show_alerts(&world).await;
    operator_act(&stack, &world, &mut tally).await;
    set_act(&stack, &world, &mut tally).await;
    pictures(&stack, &world, &report, &mut tally).await;
    println!("== done: ministack stops now ==");
    if !tally.0.is_empty() {
        eprintln!("the demo did not go as it should: {}", tally.0.join("; "));
        std::process::exit(1);
    }
}

/// A release set: three functions moved as one release; the worker's own alarm fires mid-hold
/// and every member goes back, told once for the set.
async fn set_act(stack: &Ministack, world: &World, tally: &mut Tally) {
    const MEMBERS: [&str; 3] = ["checkout-api", "checkout-worker", "checkout-audit"];
    for name in MEMBERS {
        world.function_with_two_versions(name).await;
    }
    world
        .alarm_on("checkout-worker-dlq", "checkout-worker", "Throttles", None)
        .await;
    let set = pictures_dir().join("checkout.yaml");
    std::fs::write(
        &set,
        "set: checkout\nstrategy: \"10%:10s,50%:10s\"\nmembers:\n  - {functionName: checkout-api, alias: live, targetVersion: 2}\n  - {functionName: checkout-worker, alias: live, targetVersion: 2, alarms: [checkout-worker-dlq]}\n  - {functionName: checkout-audit, alias: live, targetVersion: 2}\n",
    )
    .expect("write the set file");
    println!(
        "-- a release set: {} move 1 -> 2 together ({}); a few seconds in, the worker's own alarm goes to ALARM",
        MEMBERS.join(", "),
        set.display()
    );
    world.notifications().await;
    let alarm_world = World::new(stack).await;
    let breach = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(4)).await;
        println!(
            "[{}] (demo) checkout-worker-dlq goes to ALARM",
            chrono::Local::now().format("%H:%M:%S")
        );
        alarm_world
            .set_alarm("checkout-worker-dlq", StateValue::Alarm)
            .await;
    });
    let code = tokio::task::spawn_blocking({
        let (env, topic, set) = (stack.env(), world.topic_arn.clone(), set.clone());
        move || {
            Command::new(binary("rollout"))
                .args(["run", "--set", &set.display().to_string()])
                .args(["--topic", &topic, "--poll", "1s"])
                .envs(env)
                .status()
                .expect("run rollout --set")
                .code()
                .unwrap_or(1)
        }
    })
    .await
    .expect("the set's rollout");
    breach.await.expect("breach");
    tally.exited("rollout --set", code, 3, "every member rolled back");
    show_alerts(world).await;
    for name in MEMBERS {
        let alias = world.alias(name).await;
        let split = alias
            .routing
            .map_or(String::new(), |(v, w)| format!(" with {w} on {v}"));
        println!("{name}:live is on version {}{split}", alias.version);
    }
    println!();
}

/// Each command's exit code against the one its act means to show.
#[derive(Default)]
struct Tally(Vec<String>);

impl Tally {
    /// Shows how an act's command ended, then checks it.
    fn exited(&mut self, what: &str, code: i32, expected: i32, meaning: &str) {
        println!("{what} exited {code} ({expected} = {meaning})\n");
        self.expect(what, code, expected);
    }

    fn expect(&mut self, what: &str, code: i32, expected: i32) {
        if code != expected {
            self.0.push(format!("{what} exited {code}, not {expected}"));
        }
    }
}

/// A version whose errors show only in its own metrics: the alias-wide alarm stays OK, the
/// canary judgement rolls it back. The demo writes per-version metrics as Lambda would.
async fn third_act(stack: &Ministack, world: &World) -> i32 {
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
    code
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

/// An operator steps in while a rollout holds, from a second terminal (the real `rollout`
/// command): pauses it at 10 %, sees it hold past its step's end, resumes it (the hold is over,
/// so it shifts at once), and promotes it straight to 100 % from a 50 % step held for an hour.
async fn operator_act(stack: &Ministack, world: &World, tally: &mut Tally) {
    let v5 = world.publish_version(FUNCTION, "five").await;
    println!(
        "-- rollout 4: version 2 -> {v5}, 10% for 3s then 50% for an hour, bake 2s, watching {ALIAS_ALARM}; an operator steps in"
    );
    let topic = world.topic_arn.clone();
    let env = stack.env();
    let driver = Command::new(binary("rollout"))
        .args([
            "run",
            "--function",
            FUNCTION,
            "--alias",
            "live",
            "--to",
            &v5,
        ])
        .args(["--strategy", "10%:3s,50%:1h", "--bake", "2s"])
        .args(["--alarm", ALIAS_ALARM, "--topic", &topic, "--poll", "1s"])
        .envs(env.clone())
        .spawn()
        .expect("run rollout");
    until_routed(world, &v5, 0.1).await;
    let mut types = |args: &[String]| {
        let code = operator(&env, &topic, &as_strs(args));
        tally.expect(&format!("rollout {}", args[0]), code, 0);
    };
    let alias = ["--function", FUNCTION, "--alias", "live"];
    let with = |command: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec![command.to_string()];
        args.extend(alias.iter().chain(extra).map(|a| a.to_string()));
        args
    };
    let pause = with("pause", &["--reason", "p99 looks odd", "--topic", &topic]);
    types(&pause);
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "[{}] (demo) 5s later, past the 3s hold:",
        chrono::Local::now().format("%H:%M:%S")
    );
    types(&with("status", &[]));
    let resume = with(
        "resume",
        &["--reason", "it was the cache", "--topic", &topic],
    );
    types(&resume);
    until_routed(world, &v5, 0.5).await;
    let promote = with(
        "promote",
        &["--full", "--reason", "checked by hand", "--topic", &topic],
    );
    types(&promote);
    let code = tokio::task::spawn_blocking(move || driver.wait_with_output())
        .await
        .expect("rollout 4")
        .expect("rollout run ends")
        .status
        .code()
        .unwrap_or(1);
    tally.exited("rollout", code, 0, "promoted");
    show_alerts(world).await;
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Runs the real `rollout` command as an operator would in a second terminal, showing what
/// they type (the topic's ARN as `$TOPIC`) and what it answers.
fn operator(env: &[(String, String)], topic: &str, args: &[&str]) -> i32 {
    let typed: Vec<String> = args
        .iter()
        .map(|a| match *a {
            a if a == topic => "$TOPIC".to_string(),
            a if a.contains(' ') => format!("{a:?}"),
            a => a.to_string(),
        })
        .collect();
    println!(
        "[{}] operator$ rollout {}",
        chrono::Local::now().format("%H:%M:%S"),
        typed.join(" ")
    );
    let status = Command::new(binary("rollout"))
        .args(args)
        .envs(env.iter().cloned())
        .status()
        .expect("run rollout");
    status.code().unwrap_or(1)
}

/// Waits (up to 20 s) until the alias routes `weight` to `version`, as the operator would
/// watch `rollout status` before acting.
async fn until_routed(world: &World, version: &str, weight: f64) {
    let began = Instant::now();
    while world.alias(FUNCTION).await.routing != Some((version.to_string(), weight)) {
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "the alias never routed {weight} to version {version}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where the demo leaves its pictures, replaced on each run.
fn pictures_dir() -> PathBuf {
    rollout_testkit::host::target_dir().join("demo")
}

/// `rollout report` of the rollout the alias records, into `path`.
fn write_report(stack: &Ministack, path: &Path) -> i32 {
    std::fs::create_dir_all(path.parent().expect("a directory")).expect("create target/demo");
    let out = path.to_str().expect("a UTF-8 path");
    let args = ["report", "--function", FUNCTION, "--alias", "live"];
    println!("(demo) rollout {} --out {out}", args.join(" "));
    let status = Command::new(binary("rollout"))
        .args(args)
        .args(["--out", out])
        .envs(stack.env())
        .status()
        .expect("run rollout report");
    status.code().unwrap_or(1)
}

/// The alias's dashboard (kept as JSON next to the report: the emulator goes), and what both
/// pictures show, read back from what was written.
async fn pictures(stack: &Ministack, world: &World, report: &Path, tally: &mut Tally) {
    println!("== pictures, in {} ==", pictures_dir().display());
    let dashboard = Command::new(binary("rollout"))
        .args(["dashboard", "--function", FUNCTION, "--alias", "live"])
        .args(["--output", "json"])
        .envs(stack.env())
        .stderr(Stdio::inherit())
        .output()
        .expect("run rollout dashboard");
    tally.expect("rollout dashboard", dashboard.status.code().unwrap_or(1), 0);
    let answer: Value = serde_json::from_slice(&dashboard.stdout).unwrap_or_default();
    if let Some(name) = answer["dashboardName"].as_str() {
        let body = world
            .cloudwatch
            .get_dashboard()
            .dashboard_name(name)
            .send()
            .await
            .expect("get_dashboard");
        let body: Value =
            serde_json::from_str(body.dashboard_body().unwrap_or("{}")).unwrap_or_default();
        let path = pictures_dir().join("dashboard.json");
        let text = serde_json::to_string_pretty(&body).expect("json");
        std::fs::write(&path, text).expect("write dashboard.json");
        let titles: Vec<&str> = body["widgets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w["properties"]["title"].as_str())
            .collect();
        println!(
            "dashboard {name} (CloudWatch, its body kept in {})",
            path.display()
        );
        println!(
            "  versions {}; alarms {}",
            list(&answer["versions"]),
            list(&answer["alarms"])
        );
        println!("  widgets: {}", titles.join("; "));
    }
    let Ok(html) = std::fs::read_to_string(report) else {
        println!("no report at {}", report.display());
        return;
    };
    println!(
        "report of rollout 2 (the alarm's rollback): {}",
        report.display()
    );
    println!("  one HTML file, no script, nothing fetched: open it in a browser");
    if let Some(window) = between(&html, "<p class=\"sub\">", "</p>") {
        println!("  window: {window} (from the minute its rollout started)");
    }
    let times = html
        .split("<li class=\"step\"")
        .skip(1)
        .map(|li| between(li, "<time>", "</time>").unwrap_or("?"));
    let steps: Vec<String> = attribute_values(&html, "step", "data-percent")
        .iter()
        .zip(times)
        .map(|(percent, at)| format!("{percent}% at {at}"))
        .collect();
    println!("  TrafficWeight steps: {}", steps.join(" -> "));
    let alarms = attribute_values(&html, "alarm-change", "data-alarm");
    let from = attribute_values(&html, "alarm-change", "data-from");
    let to = attribute_values(&html, "alarm-change", "data-to");
    for ((alarm, from), to) in alarms.iter().zip(&from).zip(&to) {
        println!("  alarm change: {alarm} {from} -> {to}");
    }
    let status = between(&html, "<p class=\"status\">", "</p>").unwrap_or("not recorded");
    let by = outcome_field(&html, "by").map_or(String::new(), |by| format!(" by {by}"));
    println!("  outcome: {status}{by}");
    if let Some(why) = outcome_field(&html, "why") {
        println!("  why: {why}");
    }
    println!();
}

/// The text between the first `open` and the `close` after it.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    text.split(open).nth(1)?.split(close).next()
}

/// A JSON array of strings as `a, b`, or `none`.
fn list(values: &Value) -> String {
    let items: Vec<&str> = values
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match items.is_empty() {
        true => "none".into(),
        false => items.join(", "),
    }
}
