//! An operator's pause, resume and promote, as real `rollout` processes run by a second
//! person while `rollout run` drives the rollout; and `status --watch` following it.

use std::process::{Child, Output};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use rollout_testkit::fixture::{rollout_cli, spawn_rollout_cli};

use crate::{t0, Setup};

/// `rollout run` of `orders:live` to version 2 in the background, telling the world's topic.
fn run(s: &Setup, strategy: &str, extra: &[&str]) -> Child {
    let mut args = vec![
        "run",
        "--function",
        "orders",
        "--alias",
        "live",
        "--to",
        "2",
        "--strategy",
        strategy,
        "--topic",
        &s.world.topic_arn,
        "--poll",
        "1s",
    ];
    args.extend_from_slice(extra);
    spawn_rollout_cli(&s.stack, &s.stack.endpoint(), &args)
}

/// `rollout <command> --function orders --alias live …`, as the second operator types it.
fn operator(s: &Setup, command: &str, extra: &[&str]) -> Output {
    let mut args = vec![command, "--function", "orders", "--alias", "live"];
    args.extend_from_slice(extra);
    rollout_cli(&s.stack, &args)
}

fn ok(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    text
}

async fn ended(child: Child) -> Output {
    tokio::task::spawn_blocking(|| child.wait_with_output())
        .await
        .unwrap()
        .expect("the command ends")
}

/// Waits (up to 20 s) until the alias carries `weight` on version 2.
async fn until_weight(s: &Setup, weight: Option<f64>, version: &str) -> Instant {
    let began = Instant::now();
    loop {
        let alias = s.world.alias("orders").await;
        let routing = alias.routing.as_ref().map(|(_, w)| *w);
        if routing == weight && alias.version == version {
            return Instant::now();
        }
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "the alias never reached {weight:?} on {version}: {alias:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_pause_from_another_process_holds_run_past_its_hold_until_resumed() {
    let s = Setup::new("orders").await;
    let child = run(&s, "50%:3s", &[]);
    s.world.until_split("orders").await;
    ok(&operator(
        &s,
        "pause",
        &["--reason", "p99 looks odd", "--topic", &s.world.topic_arn],
    ));
    let paused = s.world.alias("orders").await;
    assert_eq!(paused.routing, Some(("2".into(), 0.5)));
    // Longer than the hold: run checks every second and shifts nothing, writes nothing.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        s.world.alias("orders").await,
        paused,
        "no step while paused"
    );
    ok(&operator(
        &s,
        "resume",
        &["--reason", "p99 is fine", "--topic", &s.world.topic_arn],
    ));
    let out = ended(child).await;
    let log = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{log}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(log.contains("paused by an operator at 50% on 2"), "{log}");
    let alias = s.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("2", None));
    let notes = s.world.notifications().await;
    let events: Vec<&str> = notes
        .iter()
        .map(|n| n["event"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        events,
        [
            "rollout.started",
            "rollout.paused",
            "rollout.resumed",
            "rollout.succeeded"
        ]
    );
    for (note, why) in [(&notes[1], "p99 looks odd"), (&notes[2], "p99 is fine")] {
        assert_eq!(note["source"], "rollout-cli", "{note}");
        assert_eq!(note["reason"], why, "{note}");
        assert_eq!(note["weight"], 0.5, "{note}");
        let id = note["eventId"].as_str().unwrap_or_default();
        assert!(
            id.starts_with(note["rolloutId"].as_str().unwrap())
                && id.contains(note["event"].as_str().unwrap()),
            "{id}"
        );
        assert_eq!(
            note["_attributes"]["eventId"]["Value"].as_str(),
            Some(id),
            "{note}"
        );
    }
}

#[tokio::test]
async fn an_alarm_during_a_pause_still_rolls_back() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let child = run(&s, "50%:1h", &["--alarm", "orders-errors"]);
    s.world.until_split("orders").await;
    ok(&operator(&s, "pause", &[]));
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let out = ended(child).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alias = s.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
}

#[tokio::test]
async fn promote_ends_a_long_hold_within_a_poll_and_full_goes_to_100_then_bakes() {
    let s = Setup::new("orders").await;
    let child = run(&s, "10%:1h,20%:1h,50%:1h", &["--bake", "3s"]);
    until_weight(&s, Some(0.1), "1").await;
    let asked = Instant::now();
    ok(&operator(
        &s,
        "promote",
        &["--reason", "looks good", "--topic", &s.world.topic_arn],
    ));
    let took = until_weight(&s, Some(0.2), "1").await - asked;
    assert!(
        took < Duration::from_secs(4),
        "the next step within a poll, took {took:?}"
    );
    // Only one step: the next hold is the plan's hour again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.2))
    );
    ok(&operator(
        &s,
        "promote",
        &["--full", "--topic", &s.world.topic_arn],
    ));
    let at_full = until_weight(&s, None, "2").await;
    let out = ended(child).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        at_full.elapsed() >= Duration::from_secs(2),
        "the bake was kept: {:?}",
        at_full.elapsed()
    );
    let notes = s.world.notifications().await;
    let events: Vec<(&str, f64)> = notes
        .iter()
        .map(|n| {
            (
                n["event"].as_str().unwrap_or_default(),
                n["weight"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("rollout.started", 0.1),
            ("rollout.promoted", 0.1),
            ("rollout.shifted", 0.2),
            ("rollout.promoted", 0.2),
            ("rollout.shifted", 1.0),
            ("rollout.succeeded", 1.0)
        ],
        "one shift and one notice per promote"
    );
}

#[tokio::test]
async fn status_watch_follows_whoever_drives_and_exits_with_the_rollouts_code() {
    let s = Setup::new("orders").await;
    // On `Throttles`: the test publishes `Errors` (0) for the versions, which the emulator
    // would evaluate this alarm on at every PutMetricData (see `World::alarm_on`).
    s.world
        .alarm_on("orders-errors", "orders", "Throttles", None)
        .await;
    let child = run(&s, "50%:1h", &["--alarm", "orders-errors"]);
    s.world.until_split("orders").await;
    // The new version is 20 times slower on its own calls (no errors, so the error alarm
    // stays OK): the watch judges the split it follows.
    s.world
        .put_version_metrics("orders", "2", 100, 0, 400.0)
        .await;
    s.world
        .put_version_metrics("orders", "1", 100, 0, 20.0)
        .await;
    let watch = spawn_rollout_cli(
        &s.stack,
        &s.stack.endpoint(),
        &[
            "status",
            "--function",
            "orders",
            "--alias",
            "live",
            "--watch",
            "--poll",
            "1s",
            "--analysis",
            r#"{"maxLatencyRatio": 1.5}"#,
        ],
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    ok(&operator(&s, "pause", &["--reason", "looking"]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let out = ended(watch).await;
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{shown}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shown.contains("InProgress at step 1, 50% on 2"), "{shown}");
    assert!(shown.contains("paused by rollout-cli: looking"), "{shown}");
    assert!(shown.contains("RolledBack at step 1"), "{shown}");
    // The alarms that guard the alias, found by their dimensions, as they change.
    assert!(
        shown.contains("alarms: alarm orders-errors is OK"),
        "{shown}"
    );
    assert!(
        shown.contains("alarms: alarm orders-errors is in ALARM"),
        "{shown}"
    );
    assert!(shown.contains("judged fail since"), "{shown}");
    assert!(shown.contains("p99 400 vs 20 ms"), "{shown}");
    assert_eq!(ended(child).await.status.code(), Some(3));
}

#[tokio::test]
async fn requests_that_would_change_nothing_exit_2_and_leave_the_alias_alone() {
    let s = Setup::new("orders").await;
    // No rollout of ours on the alias.
    let before = s.world.alias("orders").await;
    for command in ["pause", "resume", "promote"] {
        let out = operator(&s, command, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains("carries no lambda-rollout rollout"),
            "{stderr}"
        );
    }
    let watch = operator(&s, "status", &["--watch"]);
    assert_eq!(watch.status.code(), Some(2));
    assert_eq!(s.world.alias("orders").await, before);
    // A rollout holding for an hour, with no driver running.
    let spec = s.spec("orders", "10%:1h");
    s.start(&spec, t0()).await.expect("start");
    ok(&operator(&s, "pause", &["--reason", "first"]));
    let paused = s.world.alias("orders").await;
    let out = operator(&s, "pause", &["--reason", "second"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("already paused (by rollout-cli: first)"),
        "{stderr}"
    );
    assert_eq!(
        s.world.alias("orders").await.revision_id,
        paused.revision_id
    );
    ok(&operator(&s, "resume", &[]));
    let resumed = s.world.alias("orders").await;
    // The very same request again is a retry: nothing written, its alert told again.
    let again = operator(&s, "resume", &[]);
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stdout).contains("already recorded"));
    // Another resume (another reason) has nothing to resume.
    let out = operator(&s, "resume", &["--reason", "again"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not paused"));
    assert_eq!(
        s.world.alias("orders").await.revision_id,
        resumed.revision_id
    );
    // Ended: a promote has nothing left to promote.
    ok(&operator(&s, "abort", &[]));
    let aborted = s.world.alias("orders").await;
    let out = operator(&s, "promote", &["--full"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already ended (Aborted)"), "{stderr}");
    assert_eq!(s.world.alias("orders").await, aborted);
    // `status --watch` of the ended rollout answers at once with its code.
    assert_eq!(operator(&s, "status", &["--watch"]).status.code(), Some(4));
    let notes = s.world.events().await;
    assert_eq!(
        notes,
        ["rollout.started"],
        "refusals tell no one (no topic was given to the others)"
    );
}
