//! The `rollout` command as an operator runs it: exit codes, output, and the alias after.

use aws_sdk_cloudwatch::types::StateValue;
use rollout_testkit::fixture::{rollout_cli, stdout_json};

use crate::Setup;

#[tokio::test]
async fn run_promotes_with_exit_0_and_prints_the_final_state() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let out = rollout_cli(
        &s.stack,
        &[
            "run",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            "2",
            "--strategy",
            "50%:1s",
            "--alarm",
            "orders-errors",
            "--topic",
            &s.world.topic_arn,
            "--output",
            "json",
            "--poll",
            "1s",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = stdout_json(&out);
    assert_eq!(state["status"], "Succeeded");
    assert_eq!(s.world.alias("orders").await.version, "2");
    assert_eq!(
        s.world.events().await,
        ["rollout.started", "rollout.succeeded"]
    );
}

#[tokio::test]
async fn run_exits_3_when_an_alarm_fires_during_a_hold() {
    let s = Setup::new("orders").await;
    s.world.alarm("orders-errors", "orders", None).await;
    let args: Vec<String> = [
        "run",
        "--function",
        "orders",
        "--alias",
        "live",
        "--to",
        "2",
        "--strategy",
        "10%:1h",
        "--alarm",
        "orders-errors",
        "--poll",
        "1s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let stack_env = s.stack.env();
    let child = std::thread::spawn(move || {
        std::process::Command::new(rollout_testkit::fixture::binary("rollout"))
            .args(&args)
            .envs(stack_env)
            .output()
            .expect("run rollout")
    });
    for _ in 0..100 {
        if s.world.alias("orders").await.routing.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let fired = std::time::Instant::now();
    s.world.set_alarm("orders-errors", StateValue::Alarm).await;
    let out = child.join().unwrap();
    assert!(
        fired.elapsed().as_secs() < 10,
        "rolled back within seconds of the breach, not the 1h hold"
    );
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
async fn run_exits_2_on_invalid_input_and_touches_nothing() {
    let s = Setup::new("orders").await;
    let before = s.world.alias("orders").await;
    for args in [
        vec!["--to", "2", "--strategy", "Canary100Percent5Minutes"],
        vec!["--to", "9"],
        vec!["--to", "2", "--alarm", "no-such-alarm"],
        vec!["--to", "$LATEST"],
    ] {
        let mut all = vec!["run", "--function", "orders", "--alias", "live"];
        all.extend(args.iter());
        let out = rollout_cli(&s.stack, &all);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty());
    }
    assert_eq!(s.world.alias("orders").await, before);
}

#[tokio::test]
async fn run_of_a_version_already_live_is_nothing_to_do() {
    let s = Setup::new("orders").await;
    s.world.set_alias("orders", "2", None).await;
    let out = rollout_cli(
        &s.stack,
        &[
            "run",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            "2",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("already live"));
}

#[tokio::test]
async fn status_and_abort_work_from_the_alias_alone() {
    let s = Setup::new("orders").await;
    let spec = s.spec("orders", "Canary10Percent5Minutes");
    let rollout = s.start(&spec, crate::t0()).await.expect("start");
    let out = rollout_cli(
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
    assert_eq!(out.status.code(), Some(0));
    let status = stdout_json(&out);
    assert_eq!(status["routing"]["weight"], 0.1);
    assert_eq!(status["rollout"]["rolloutId"], rollout.rollout_id.as_str());

    let out = rollout_cli(
        &s.stack,
        &[
            "abort",
            "--function",
            "orders",
            "--alias",
            "live",
            "--topic",
            &s.world.topic_arn,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alias = s.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), ("1", None));
    assert_eq!(
        s.world.events().await,
        ["rollout.started", "rollout.aborted"]
    );
}

#[tokio::test]
async fn run_exits_4_when_another_deployment_holds_the_alias() {
    let s = Setup::new("orders").await;
    s.world.set_alias("orders", "1", Some(("2", 0.3))).await;
    let out = rollout_cli(
        &s.stack,
        &[
            "run",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            "2",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.3))
    );
}

#[test]
fn plan_refuses_bad_strategies_with_exit_2_quoting_them() {
    for bad in [
        "Canary0Percent5Minutes",
        "Linear10PercentEvery2881Minutes",
        "5%:1m,5%:2m",
        "5%:1y",
        "",
    ] {
        let out = std::process::Command::new(rollout_testkit::fixture::binary("rollout"))
            .args(["plan", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("{bad:?}")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn run_refuses_a_topic_that_does_not_exist_and_touches_nothing() {
    let s = Setup::new("orders").await;
    let before = s.world.alias("orders").await;
    let missing_topic = "arn:aws:sns:us-east-1:000000000000:no-such-topic";
    let out = rollout_cli(
        &s.stack,
        &[
            "run",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            "2",
            "--strategy",
            "50%:1s",
            "--topic",
            missing_topic,
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--topic") && stderr.contains("no-such-topic"),
        "{stderr}"
    );
    assert_eq!(s.world.alias("orders").await, before);
}

#[tokio::test]
async fn run_keeps_driving_when_notifications_cannot_be_published() {
    let s = Setup::new("orders").await;
    let topic = s
        .world
        .sns
        .create_topic()
        .name("goes-away")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let child = std::process::Command::new(rollout_testkit::fixture::binary("rollout"))
        .args([
            "run",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            "2",
            "--strategy",
            "50%:3s",
            "--topic",
            &topic,
            "--poll",
            "1s",
        ])
        .envs(s.stack.env())
        .env_remove("AWS_PROFILE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rollout run");
    // The topic is deleted once the rollout holds at 50%: every later publish fails.
    for _ in 0..100 {
        if s.world.alias("orders").await.routing.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    s.world
        .sns
        .delete_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    let out = tokio::task::spawn_blocking(|| child.wait_with_output())
        .await
        .unwrap()
        .expect("rollout run ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("the notification could not be published"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("<html") && stderr.len() < 2000,
        "no raw HTTP dumps: {stderr}"
    );
    let alias = s.world.alias("orders").await;
    assert_eq!(
        (alias.version.as_str(), alias.routing),
        ("2", None),
        "promoted, not stranded"
    );
}

#[tokio::test]
async fn run_waits_for_a_version_published_a_moment_ago_and_promotes_it() {
    let s = Setup::new("orders").await;
    let v3 = s.world.publish_version("orders", "three").await;
    let out = rollout_cli(
        &s.stack,
        &[
            "run",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            &v3,
            "--strategy",
            "50%:1s",
            "--poll",
            "1s",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "waiting for version {v3} to be Active: it is Pending"
        )),
        "{stdout}"
    );
    let alias = s.world.alias("orders").await;
    assert_eq!((alias.version.as_str(), alias.routing), (v3.as_str(), None));
}

#[tokio::test]
async fn run_refuses_a_version_whose_role_differs_naming_both_and_touches_nothing() {
    let s = Setup::new("orders").await;
    let other = "arn:aws:iam::000000000000:role/other-role";
    let v3 = s.world.publish_version_with_role("orders", other).await;
    let before = s.world.alias("orders").await;
    let out = rollout_cli(
        &s.stack,
        &[
            "run",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            &v3,
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--to:")
            && stderr.contains(other)
            && stderr.contains(rollout_testkit::fixture::ROLE),
        "{stderr}"
    );
    assert_eq!(s.world.alias("orders").await, before);
    assert!(s.world.events().await.is_empty());
}

#[tokio::test]
async fn run_refuses_bad_analysis_with_exit_2_naming_the_field_and_touches_nothing() {
    let s = Setup::new("orders").await;
    let before = s.world.alias("orders").await;
    for (analysis, field) in [
        (r#"{"maxErrorRate": -0.1}"#, "analysis.maxErrorRate:"),
        (
            r#"{"maxErrorRateIncrease": 1.5}"#,
            "analysis.maxErrorRateIncrease:",
        ),
        (r#"{"confidence": 1.5}"#, "analysis.confidence:"),
        (
            r#"{"confidance": 0.9}"#,
            "analysis: unknown field `confidance`",
        ),
        ("@/no/such/file.json", "--analysis: cannot read"),
    ] {
        let out = rollout_cli(
            &s.stack,
            &[
                "run",
                "--function",
                "orders",
                "--alias",
                "live",
                "--to",
                "2",
                "--analysis",
                analysis,
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{analysis}: {stderr}");
        assert!(stderr.contains(field), "{analysis}: {stderr}");
    }
    assert_eq!(s.world.alias("orders").await, before);
}

#[tokio::test]
async fn sigterm_leaves_the_split_as_it_is_and_tells_people_no_one_drives_it() {
    let s = Setup::new("orders").await;
    let topic = s.world.topic_arn.clone();
    let child = rollout_testkit::fixture::spawn_rollout_cli(
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
            "50%:10m",
            "--topic",
            &topic,
            "--poll",
            "1s",
        ],
    );
    s.world.until_split("orders").await;
    // What a cancelled CI job does to its steps.
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(|| child.wait_with_output())
        .await
        .unwrap()
        .expect("rollout run ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert_eq!(
        s.world.alias("orders").await.routing,
        Some(("2".into(), 0.5)),
        "the alias is left as it was"
    );
    let failed: Vec<_> = s
        .world
        .notifications()
        .await
        .into_iter()
        .filter(|n| n["event"] == "rollout.failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("no one is driving it"), "{reason}");
}
