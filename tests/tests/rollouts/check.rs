//! `rollout check` as an operator runs it before a rollout: every pre-flight check and the
//! alias's wiring, listed, with nothing on AWS changed.

use rollout_testkit::fixture::{rollout_cli, stdout_json};
use serde_json::Value;

use crate::Setup;

fn check(s: &Setup, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "check",
        "--function",
        "orders",
        "--alias",
        "live",
        "--to",
        "2",
    ];
    args.extend_from_slice(extra);
    rollout_cli(&s.stack, &args)
}

#[tokio::test]
async fn check_on_a_clean_setup_is_clear_and_changes_nothing() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let before = s.world.alias("orders").await;
    let out = check(&s, &["--alarm", "orders-errors"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "orders:live -> version 2",
        "ok       targetVersion: version 2 of orders is Active",
        "ok       weightedAlias: versions 1 and 2 have the same execution role",
        "ok       alarms: no alarm in ALARM (orders-errors)",
        "ok       triggers: no trigger bypasses alias live",
        "rollout run would start by sending 10% to version 2",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    assert!(
        !stdout.contains("WARNING") && !stdout.contains("REFUSED"),
        "{stdout}"
    );
    assert_eq!(s.world.alias("orders").await, before);
    assert!(s.world.events().await.is_empty());
}

#[tokio::test]
async fn check_warns_of_a_trigger_bound_to_latest_with_its_fix() {
    let s = Setup::new("orders").await;
    let uuid = s.world.queue_trigger("orders-jobs", "orders", None).await;
    s.world
        .queue_trigger("orders-live-jobs", "orders", Some("live"))
        .await;
    let out = check(&s, &["--output", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout_json(&out);
    assert_eq!(report["clear"], true, "{report:#}");
    let warnings: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "warning")
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "only the mapping that bypasses the alias: {report:#}"
    );
    assert_eq!(warnings[0]["check"], "eventSourceMapping");
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(
        message.contains(&uuid) && message.contains("unqualified function ($LATEST)"),
        "{message}"
    );
    assert_eq!(
        warnings[0]["fix"],
        format!("aws lambda update-event-source-mapping --uuid {uuid} --function-name orders:live")
    );
}

#[tokio::test]
async fn check_lists_every_refusal_with_exit_2() {
    let s = Setup::new("orders").await;
    let other = "arn:aws:iam::000000000000:role/other-role";
    let v3 = s.world.publish_version_with_role("orders", other).await;
    s.world.set_alias("orders", "1", Some(("2", 0.2))).await;
    let out = rollout_cli(
        &s.stack,
        &[
            "check",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            &v3,
            "--alarm",
            "no-such-alarm",
            "--output",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout_json(&out);
    let refused: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "refusal")
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["weightedAlias", "alarms", "alias"], "{report:#}");
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.2))
    );
}
