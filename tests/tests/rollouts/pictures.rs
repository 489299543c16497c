//! What people look at: `rollout dashboard` (read back with GetDashboard) and `rollout report`
//! of a real rollout the real CLI rolled back.

use std::path::PathBuf;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StateValue};
use rollout_testkit::fixture::{rollout_cli, spawn_rollout_cli, stdout_json, World};
use rollout_testkit::report_html::{attribute_values, outcome_field};
use serde_json::Value;

use crate::Setup;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A file in the emulator's scratch directory, removed with it.
fn scratch_file(s: &Setup, name: &str) -> PathBuf {
    s.stack.log_path().parent().expect("scratch dir").join(name)
}

/// An alarm on another function, to be named with `--alarm`.
async fn other_alarm(world: &World, name: &str) {
    world.alarm(name, "billing", None).await;
}

async fn dashboard_body(world: &World, name: &str) -> Value {
    let out = world
        .cloudwatch
        .get_dashboard()
        .dashboard_name(name)
        .send()
        .await
        .expect("get_dashboard");
    serde_json::from_str(out.dashboard_body().expect("body")).expect("body is JSON")
}

fn widget(body: &Value, pred: impl Fn(&Value) -> bool) -> Option<&Value> {
    body["widgets"].as_array()?.iter().find(|w| pred(w))
}

/// The metric arrays of a widget (`[namespace, name, dim, value, ..., {options}]`), as strings.
fn metrics(widget: &Value) -> Vec<Vec<String>> {
    widget["properties"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m.as_array()
                .unwrap()
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_dashboard_is_written_with_every_widget_and_written_again_in_place() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    other_alarm(&s.world, "payments-slo").await;
    let spec = s.spec("orders", "Canary10Percent5Minutes");
    s.start(&spec, crate::t0()).await.expect("start");
    // First without --alarm, then with it: the second run updates the same dashboard.
    let first = rollout_cli(
        &s.stack,
        &["dashboard", "--function", "orders", "--alias", "live"],
    );
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let body = dashboard_body(&s.world, "lambda-rollout-orders-live").await;
    let alarms = widget(&body, |w| w["type"] == "alarm").expect("an alarm widget");
    assert_eq!(
        alarms["properties"]["alarms"],
        serde_json::json!([s.world.alarm_arn("orders-errors").await])
    );
    let args = [
        "dashboard",
        "--function",
        "orders",
        "--alias",
        "live",
        "--alarm",
        "payments-slo",
        "--output",
        "json",
    ];
    let out = rollout_cli(&s.stack, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let answer = stdout_json(&out);
    assert_eq!(answer["dashboardName"], "lambda-rollout-orders-live");

    let body = dashboard_body(&s.world, "lambda-rollout-orders-live").await;
    let weight = widget(&body, |w| {
        w["type"] == "metric"
            && metrics_of(w)
                .iter()
                .any(|m| m.starts_with(&["LambdaRollout".into(), "TrafficWeight".into()]))
    })
    .expect("a weight widget");
    assert_eq!(
        metrics(weight)[0],
        [
            "LambdaRollout",
            "TrafficWeight",
            "FunctionName",
            "orders",
            "Alias",
            "live"
        ]
    );
    assert!(weight["properties"]["region"].is_string());
    let verdict = widget(&body, |w| {
        metrics_of(w)
            .iter()
            .any(|m| m.starts_with(&["LambdaRollout".into(), "CanaryVerdict".into()]))
    });
    assert!(verdict.is_some(), "a verdict widget: {body:#}");
    for name in ["Invocations", "Errors", "Duration"] {
        for version in ["1", "2"] {
            let expected = [
                "AWS/Lambda",
                name,
                "FunctionName",
                "orders",
                "Resource",
                "orders:live",
                "ExecutedVersion",
                version,
            ];
            let found = body["widgets"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(metrics_of)
                .any(|m| m == expected);
            assert!(found, "{name} of version {version}: {body:#}");
        }
    }
    let alarms = widget(&body, |w| w["type"] == "alarm").expect("an alarm widget");
    let arns: Vec<&str> = alarms["properties"]["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        arns,
        [
            s.world.alarm_arn("orders-errors").await,
            s.world.alarm_arn("payments-slo").await
        ]
    );
}

fn metrics_of(widget: &Value) -> Vec<Vec<String>> {
    match widget["properties"]["metrics"].is_array() {
        true => metrics(widget),
        false => Vec::new(),
    }
}

// stands in for the drivers' own TrafficWeight until merged
async fn publish_traffic_weight(world: &World, function: &str, alias: &str, percent: f64) {
    let dimensions = [("FunctionName", function), ("Alias", alias)]
        .map(|(n, v)| Dimension::builder().name(n).value(v).build());
    world
        .cloudwatch
        .put_metric_data()
        .namespace("LambdaRollout")
        .metric_data(
            MetricDatum::builder()
                .metric_name("TrafficWeight")
                .set_dimensions(Some(dimensions.to_vec()))
                .timestamp(DateTime::from_secs(chrono::Utc::now().timestamp()))
                .value(percent)
                .unit(StandardUnit::Percent)
                .build(),
        )
        .send()
        .await
        .expect("put TrafficWeight");
}

/// Waits (up to 20 s) until the alias routes `weight` to version 2.
async fn until_weight(world: &World, weight: f64) {
    for _ in 0..200 {
        if world.alias("orders").await.routing == Some(("2".into(), weight)) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the alias never routed {weight} to version 2");
}

#[tokio::test]
async fn the_report_of_a_rolled_back_rollout_shows_its_steps_the_alarm_and_the_reason() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let child = spawn_rollout_cli(
        &s.stack,
        &s.stack.endpoint(),
        &[
            "run",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            "2",
            "--strategy",
            "10%:2s,50%:1h",
            "--alarm",
            "orders-errors",
            "--topic",
            &s.world.topic_arn,
            "--poll",
            "1s",
        ],
    );
    until_weight(&s.world, 0.1).await;
    publish_traffic_weight(&s.world, "orders", "live", 10.0).await;
    s.world
        .put_version_metrics("orders", "1", 90, 0, 80.0)
        .await;
    s.world
        .put_version_metrics("orders", "2", 10, 0, 95.0)
        .await;
    until_weight(&s.world, 0.5).await;
    publish_traffic_weight(&s.world, "orders", "live", 50.0).await;
    s.world
        .put_version_metrics("orders", "2", 50, 20, 400.0)
        .await;
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let out = tokio::task::spawn_blocking(|| child.wait_with_output())
        .await
        .unwrap()
        .expect("rollout run ends");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    publish_traffic_weight(&s.world, "orders", "live", 0.0).await;

    let status = rollout_cli(
        &s.stack,
        &[
            "status",
            "--function",
            "orders",
            "--alias",
            "live",
            "--output",
            "json",
        ],
    );
    let status = stdout_json(&status);
    let id = status["rollout"]["rolloutId"]
        .as_str()
        .expect("a rollout id")
        .to_string();
    for (name, window) in [
        ("latest.html", vec![]),
        ("by-id.html", vec!["--rollout", &id]),
    ] {
        let path = scratch_file(&s, name);
        let path_text = path.to_str().unwrap();
        let mut args = vec![
            "report",
            "--function",
            "orders",
            "--alias",
            "live",
            "--out",
            path_text,
        ];
        args.extend(window);
        let out = rollout_cli(&s.stack, &args);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let html = std::fs::read_to_string(&path).expect("report written");
        // scripts/report-screenshot.sh looks at this report in a browser.
        if let Some(dir) = std::env::var_os("REPORT_SCREENSHOT_DIR") {
            std::fs::copy(&path, PathBuf::from(dir).join(name)).expect("copy the report");
        }

        assert_eq!(
            attribute_values(&html, "step", "data-percent"),
            ["10", "50", "0"],
            "{name}"
        );
        let changes: Vec<(String, String, String)> =
            attribute_values(&html, "alarm-change", "data-alarm")
                .into_iter()
                .zip(attribute_values(&html, "alarm-change", "data-from"))
                .zip(attribute_values(&html, "alarm-change", "data-to"))
                .map(|((a, f), t)| (a, f, t))
                .collect();
        assert!(
            changes.contains(&("orders-errors".into(), "OK".into(), "ALARM".into())),
            "{name}: {changes:?}"
        );
        assert!(html.contains("class=\"outcome rolledback\""), "{name}");
        let why = outcome_field(&html, "why");
        assert!(
            why.as_ref()
                .is_some_and(|why| why.contains("orders-errors") && why.contains("ALARM")),
            "{name}: the rollback reason {why:?}"
        );
        assert!(html.contains(&id), "{name}: the rollout id");
        assert_eq!(
            attribute_values(&html, "version", "data-version"),
            ["1", "2"],
            "{name}"
        );
        assert!(!html.contains("<script"), "{name}");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn bad_flags_exit_2_naming_the_flag_and_write_nothing() {
    let s = Setup::new("orders").await;
    let path = scratch_file(&s, "never.html");
    let path_text = path.to_str().unwrap();
    for (flags, named) in [
        (
            vec!["--since", "10m", "--rollout", "r-20261123T130000123Z"],
            "--since",
        ),
        (vec!["--since", "ten minutes"], "--since"),
        (vec!["--since", "0s"], "--since"),
        (vec!["--since", "16days"], "--since"),
        (vec!["--rollout", "r-123"], "--rollout"),
        (vec!["--rollout", "r-20261323T130000123Z"], "--rollout"),
        (vec!["--rollout", "r-20991123T130000123Z"], "--rollout"),
    ] {
        let mut args = vec![
            "report",
            "--function",
            "orders",
            "--alias",
            "live",
            "--out",
            path_text,
        ];
        args.extend(flags.iter());
        let out = rollout_cli(&s.stack, &args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(named), "{flags:?}: {}", stderr(&out));
        assert!(!path.exists(), "{flags:?} wrote a report");
    }
    for (flags, named) in [
        (vec!["--alarm", "no-such-alarm"], "--alarm"),
        (vec!["--name", "not a name!"], "--name"),
    ] {
        let mut args = vec!["dashboard", "--function", "orders", "--alias", "live"];
        args.extend(flags.iter());
        let out = rollout_cli(&s.stack, &args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(named), "{flags:?}: {}", stderr(&out));
    }
    // (GetDashboard, not ListDashboards: ministack's CBOR answer to the latter is unreadable.)
    let written = s
        .world
        .cloudwatch
        .get_dashboard()
        .dashboard_name("lambda-rollout-orders-live")
        .send()
        .await;
    assert!(written.is_err(), "no dashboard written");
}
