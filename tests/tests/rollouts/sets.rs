//! Release sets as an operator runs them: `rollout run --set` moves several functions as one
//! release and puts every one back when any breaches; `rollout check --set` checks them all.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use rollout_testkit::fixture::{binary, rollout_cli, stdout_json};
use serde_json::Value;

use crate::Setup;

const MEMBERS: [&str; 3] = ["orders-api", "orders-worker", "orders-audit"];

/// The three functions (versions 1 and 2, `live` on 1), the worker with its own alarm.
async fn three() -> Setup {
    let s = Setup::new(MEMBERS[0]).await;
    for f in &MEMBERS[1..] {
        s.world.function_with_two_versions(f).await;
    }
    s.world
        .alarm_on("worker-dlq-depth", "orders-worker", "Throttles", None)
        .await;
    s
}

/// The set as a user writes it, in YAML, in a file of its own.
fn set_file(third_target: &str, strategy: &str) -> SetFile {
    let yaml = format!(
        "set: checkout\nstrategy: \"{strategy}\"\nmembers:\n  - functionName: orders-api\n    alias: live\n    targetVersion: 2\n  - functionName: orders-worker\n    alias: live\n    targetVersion: \"2\"\n    alarms: [worker-dlq-depth]\n  - functionName: orders-audit\n    alias: live\n    targetVersion: \"{third_target}\"\n"
    );
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("set-{}-{n}.yaml", std::process::id()));
    std::fs::write(&path, yaml).unwrap();
    SetFile(path)
}

/// A set file, removed when the test is done with it.
struct SetFile(std::path::PathBuf);

impl SetFile {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for SetFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn versions(s: &Setup) -> Vec<(String, Option<(String, f64)>)> {
    let mut all = Vec::new();
    for f in MEMBERS {
        let alias = s.world.alias(f).await;
        all.push((alias.version, alias.routing));
    }
    all
}

fn on(version: &str) -> (String, Option<(String, f64)>) {
    (version.into(), None)
}

/// `rollout run --set` in the background, as a CI job runs it.
fn spawn_run(s: &Setup, file: &std::path::Path) -> std::thread::JoinHandle<std::process::Output> {
    let args: Vec<String> = [
        "run",
        "--set",
        file.to_str().unwrap(),
        "--topic",
        &s.world.topic_arn,
        "--poll",
        "1s",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let env = s.stack.env();
    std::thread::spawn(move || {
        std::process::Command::new(binary("rollout"))
            .args(&args)
            .envs(env)
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run rollout")
    })
}

async fn until_all_split(s: &Setup) {
    for _ in 0..300 {
        if versions(s)
            .await
            .iter()
            .all(|(_, routing)| routing.is_some())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the set was never split: {:?}", versions(s).await);
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_three_function_set_is_promoted_with_one_event_per_step() {
    let s = three().await;
    let file = set_file("2", "50%:1s");
    let out = rollout_cli(
        &s.stack,
        &[
            "run",
            "--set",
            file.path().to_str().unwrap(),
            "--topic",
            &s.world.topic_arn,
            "--output",
            "json",
            "--poll",
            "1s",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let state = stdout_json(&out);
    assert_eq!(state["status"], "Succeeded");
    assert_eq!(state["set"], "checkout");
    assert_eq!(state["members"].as_array().unwrap().len(), 3);
    assert_eq!(versions(&s).await, vec![on("2"); 3]);
    let notes = s.world.notifications().await;
    let events: Vec<&str> = notes.iter().map(|n| n["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["rollout.started", "rollout.succeeded"]);
    let done = &notes[1];
    assert_eq!(done["set"], "checkout");
    let members: Vec<&str> = done["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["functionName"].as_str().unwrap())
        .collect();
    assert_eq!(members, MEMBERS);
}

#[tokio::test]
async fn a_set_whose_third_member_has_no_such_version_is_refused_and_nothing_moves() {
    let s = three().await;
    let file = set_file("9", "Canary10Percent5Minutes");
    for command in ["check", "run"] {
        let out = rollout_cli(&s.stack, &[command, "--set", file.path().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(text.contains("members[2] orders-audit:live"), "{text}");
    }
    assert_eq!(versions(&s).await, vec![on("1"); 3]);
    assert!(s.world.notifications().await.is_empty());
    let good = set_file("2", "Canary10Percent5Minutes");
    let out = rollout_cli(&s.stack, &["check", "--set", good.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test]
async fn an_alarm_of_the_second_member_puts_all_three_back_within_seconds() {
    let s = three().await;
    let file = set_file("2", "10%:1h");
    let run = spawn_run(&s, file.path());
    until_all_split(&s).await;
    let fired = Instant::now();
    s.world
        .set_alarm("worker-dlq-depth", StateValue::Alarm)
        .await;
    let mut back = None;
    while fired.elapsed() < Duration::from_secs(10) {
        if versions(&s).await == vec![on("1"); 3] {
            back = Some(fired.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = run.join().unwrap();
    let back = back.unwrap_or_else(|| panic!("not all back: {:?}", stderr(&out)));
    assert!(back < Duration::from_secs(5), "all back in {back:?}");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let notes = s.world.notifications().await;
    let rolled: Vec<&Value> = notes
        .iter()
        .filter(|n| n["event"] == "rollout.rolled_back")
        .collect();
    assert_eq!(rolled.len(), 1, "one event for the set: {notes:?}");
    let reason = rolled[0]["reason"].as_str().unwrap();
    assert!(reason.contains("orders-worker:live"), "{reason}");
    assert!(reason.contains("worker-dlq-depth"), "{reason}");
    assert_eq!(rolled[0]["functionName"], "orders-worker");
}

#[tokio::test]
async fn someone_elses_change_to_the_first_member_is_left_and_the_others_go_back() {
    let s = three().await;
    let file = set_file("2", "10%:1h");
    let run = spawn_run(&s, file.path());
    until_all_split(&s).await;
    // Another deployer moves the first member's alias while the set holds.
    s.world.set_alias("orders-api", "2", None).await;
    let out = run.join().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(versions(&s).await, vec![on("2"), on("1"), on("1")]);
    let events = s.world.events().await;
    assert_eq!(events, ["rollout.started", "rollout.aborted"]);
}

#[tokio::test]
async fn a_set_refuses_bad_input_naming_the_member_and_field() {
    let s = three().await;
    for (set, field) in [
        (
            r#"{"set": "checkout", "members": [{"functionName": "orders-api", "alias": "live", "targetVersion": "2", "fnctionName": "x"}]}"#,
            "members[0]",
        ),
        (
            r#"{"set": "checkout", "members": [{"functionName": "orders-api", "alias": "live", "targetVersion": "2", "roleArn": "admin"}]}"#,
            "members[0].roleArn",
        ),
        (r#"{"set": "check out", "members": []}"#, "set"),
    ] {
        let out = rollout_cli(&s.stack, &["run", "--set", set]);
        assert_eq!(out.status.code(), Some(2), "{set}: {}", stderr(&out));
        assert!(stderr(&out).contains(field), "{field}: {}", stderr(&out));
    }
    assert_eq!(versions(&s).await, vec![on("1"); 3]);
}

#[tokio::test]
async fn members_in_two_regions_are_promoted_and_put_back_together() {
    let s = three().await;
    // The same function name in another region: the emulator keeps the two apart.
    let eu = s.world.in_region(&s.stack, "eu-west-1");
    eu.function_with_two_versions("orders-api").await;
    let set = |strategy: &str| {
        serde_json::json!({"set": "global", "strategy": strategy, "members": [
            {"functionName": "orders-api", "alias": "live", "targetVersion": "2"},
            {"functionName": "orders-api", "alias": "live", "targetVersion": "2",
             "region": "eu-west-1", "alarms": ["orders-eu-errors"]}]})
        .to_string()
    };
    eu.alarm_on("orders-eu-errors", "orders-api", "Throttles", None)
        .await;
    let out = rollout_cli(
        &s.stack,
        &[
            "run",
            "--set",
            &set("50%:1s"),
            "--poll",
            "1s",
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_json(&out)["members"][1]["region"], "eu-west-1");
    assert_eq!(s.world.alias("orders-api").await.version, "2");
    assert_eq!(eu.alias("orders-api").await.version, "2");

    // Back to version 1 in both regions, then a set whose European alarm fires mid-hold.
    s.world.set_alias("orders-api", "1", None).await;
    eu.set_alias("orders-api", "1", None).await;
    let args: Vec<String> = ["run", "--set", &set("10%:1h"), "--poll", "1s"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let env = s.stack.env();
    let run = std::thread::spawn(move || {
        std::process::Command::new(binary("rollout"))
            .args(&args)
            .envs(env)
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run rollout")
    });
    let started = Instant::now();
    while s.world.alias("orders-api").await.routing.is_none()
        || eu.alias("orders-api").await.routing.is_none()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never split in both regions"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eu.set_alarm("orders-eu-errors", StateValue::Alarm).await;
    let out = run.join().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let home = s.world.alias("orders-api").await;
    let away = eu.alias("orders-api").await;
    assert_eq!((home.version.as_str(), home.routing), ("1", None));
    assert_eq!((away.version.as_str(), away.routing), ("1", None));
}

#[tokio::test]
async fn a_members_dashboard_and_report_show_every_member() {
    let s = three().await;
    let file = set_file("2", "10%:1h");
    let run = spawn_run(&s, file.path());
    until_all_split(&s).await;
    let out = rollout_cli(
        &s.stack,
        &[
            "dashboard",
            "--function",
            "orders-worker",
            "--alias",
            "live",
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = stdout_json(&out);
    assert_eq!(written["set"], "checkout");
    let body = s
        .world
        .cloudwatch
        .get_dashboard()
        .dashboard_name(written["dashboardName"].as_str().unwrap())
        .send()
        .await
        .expect("get_dashboard");
    let body: Value = serde_json::from_str(body.dashboard_body().unwrap()).unwrap();
    let traffic = body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["properties"]["title"] == "Traffic on the new versions, set checkout (%)")
        .unwrap_or_else(|| panic!("{body:#}"));
    let lines: Vec<&str> = traffic["properties"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[3].as_str().unwrap())
        .collect();
    assert_eq!(lines, MEMBERS);
    // Done looking: the set is put back (exit 4 would be someone else's change).
    let out = rollout_cli(
        &s.stack,
        &["abort", "--function", "orders-audit", "--alias", "live"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ended = run.join().unwrap();
    assert_eq!(versions(&s).await, vec![on("1"); 3], "{}", stderr(&ended));
    let page = std::env::temp_dir().join(format!("set-report-{}.html", std::process::id()));
    let out = rollout_cli(
        &s.stack,
        &[
            "report",
            "--function",
            "orders-api",
            "--alias",
            "live",
            "--out",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    let _ = std::fs::remove_file(&page);
    assert!(html.contains("Release set checkout (3 members)"), "{html}");
    for f in MEMBERS {
        assert!(
            html.contains(&format!("{f}:live: 1 → 2, now version 1 (Aborted)")),
            "{f}: {html}"
        );
    }
}
