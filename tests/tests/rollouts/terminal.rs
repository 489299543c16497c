//! What `rollout` prints of text that came from AWS or an alias's marker (an operator's
//! reason, an alarm's StateReason through alarm-rollback's `why=`): escape sequences and
//! bidirectional controls are shown, never sent to the terminal to obey.

use std::process::Output;
use std::time::Duration;

use rollout_core::EventKind;
use rollout_testkit::fixture::{rollout_cli, spawn_rollout_cli};
use rollout_usecases::driver::{StopRequest, StopScope};

use crate::{t0, Setup};

/// Sets the window's title, clears the screen, and reverses what follows.
const HOSTILE: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J looking\u{202e}gnikool";
/// The same, as it is shown.
const SHOWN: &str = "\\u001b]0;owned\\u0007\\u001b[2J looking\\u202egnikool";

fn obeyable(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n') || text.contains('\u{202e}')
}

fn printed(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_refusal_and_status_show_an_operators_reason_with_escapes_made_visible() {
    let s = Setup::new("orders").await;
    s.start(&s.spec("orders", "10%:1h"), t0())
        .await
        .expect("start");
    let on_orders = |command: &str, extra: &[&str]| {
        let mut args = vec![command, "--function", "orders", "--alias", "live"];
        args.extend_from_slice(extra);
        rollout_cli(&s.stack, &args)
    };
    let paused = on_orders("pause", &["--reason", HOSTILE]);
    assert_eq!(paused.status.code(), Some(0), "{:?}", printed(&paused));

    // The refusal names who paused and why: on stderr, and in the JSON error document.
    let refused = on_orders("pause", &["--reason", "second"]);
    let (_, stderr) = printed(&refused);
    assert_eq!(refused.status.code(), Some(2), "{stderr:?}");
    assert!(!obeyable(&stderr) && stderr.contains(SHOWN), "{stderr:?}");
    let refused = on_orders("pause", &["--output", "json"]);
    let (stdout, stderr) = printed(&refused);
    assert!(
        !obeyable(&stdout) && !obeyable(&stderr),
        "{stdout:?} {stderr:?}"
    );
    let error: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert!(
        error["error"].as_str().unwrap().contains(HOSTILE),
        "JSON carries the text itself, escaped as JSON: {error}"
    );

    let status = on_orders("status", &[]);
    let (stdout, _) = printed(&status);
    assert!(!obeyable(&stdout) && stdout.contains(SHOWN), "{stdout:?}");
    // JSON carries the reason itself, escaped as JSON, not twice.
    let status = on_orders("status", &["--output", "json"]);
    let (stdout, _) = printed(&status);
    assert!(!obeyable(&stdout), "{stdout:?}");
    let status: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(status["rollout"]["why"], HOSTILE);
}

#[tokio::test]
async fn run_shows_an_alarm_reason_it_replays_with_escapes_made_visible() {
    let s = Setup::new("orders").await;
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
            "10%:1h",
            "--poll",
            "1s",
        ],
    );
    s.world.until_split("orders").await;
    // As alarm-rollback puts it back: its why= carries the alarm's StateReason, which anyone
    // with cloudwatch:SetAlarmState writes.
    let reason = format!("alarm orders-errors went to ALARM: {HOSTILE}");
    let driver = s.adapters.driver("alarm-rollback", &[], None);
    let request = StopRequest {
        function: "orders",
        alias: "live",
        kind: EventKind::RolledBack,
        reason: &reason,
        topic: None,
        alarms: Vec::new(),
        scope: StopScope::OurRollouts,
    };
    driver.stop(request, t0()).await.expect("rolled back");
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(|| child.wait_with_output()),
    )
    .await
    .expect("run ends")
    .unwrap()
    .unwrap();
    let (stdout, stderr) = printed(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout:?} {stderr:?}");
    assert!(
        !obeyable(&stdout) && !obeyable(&stderr),
        "{stdout:?} {stderr:?}"
    );
    assert!(stdout.contains(SHOWN), "{stdout:?}");
}
