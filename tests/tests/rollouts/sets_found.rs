//! A release set found from any one member, against ministack: the real alarm-rollback
//! function puts every member back on one member's alarm, and the real `rollout` command's
//! status, pause and abort on any member act on the whole set. No driver runs meanwhile: the
//! set was started by the library and left, as a driver that died would leave it.

use aws_sdk_cloudwatch::types::StateValue;
use rollout_aws::places::AwsPlaces;
use rollout_core::set::{SetRollout, SetSpec};
use rollout_core::state::Control;
use rollout_core::Status;
use rollout_testkit::fixture::{rollout_cli, stdout_json};
use rollout_testkit::Setup;
use rollout_usecases::driver::new_rollout_id;
use rollout_usecases::ports::AliasStore;
use rollout_usecases::readiness::{ReadyWait, DEFAULT_LIMIT};
use rollout_usecases::set::SetDriver;
use serde_json::{json, Value};

use crate::t0;

const MEMBERS: [&str; 3] = ["orders-api", "orders-worker", "orders-audit"];

/// Three functions (versions 1 and 2, `live` on 1, each with its alarm `<name>-errors`) and
/// the set `checkout` of their `live` aliases started at 10 %, told on the world's topic.
async fn started() -> (Setup, SetRollout) {
    let s = Setup::new().await;
    for name in MEMBERS {
        s.function(name).await;
    }
    let spec: SetSpec = serde_json::from_value(json!({"set": "checkout", "members": [
        {"functionName": "orders-api", "alias": "live", "targetVersion": "2"},
        {"functionName": "orders-worker", "alias": "live", "targetVersion": "2",
         "alarms": ["orders-worker-errors"]},
        {"functionName": "orders-audit", "alias": "live", "targetVersion": "2"}],
        "strategy": "Canary10Percent5Minutes", "notificationTopicArn": s.world.topic_arn}))
    .expect("a set spec");
    let now = t0();
    // As a user's start would: versions published a moment ago are waited for.
    let ready = ReadyWait::up_to(DEFAULT_LIMIT);
    let started = drive(&s, async |sets| {
        sets.start(&spec, new_rollout_id(now), now, &ready).await
    })
    .await;
    assert_eq!(started.status, Status::InProgress);
    for name in MEMBERS {
        assert_eq!(s.world.alias(name).await.routing, Some(("2".into(), 0.1)));
    }
    (s, started)
}

/// `act` with a set driver on the kit's adapters, as `rollout run --set` would have one.
async fn drive(
    s: &Setup,
    act: impl AsyncFnOnce(
        &SetDriver<'_>,
    ) -> Result<
        rollout_usecases::set::SetStepped,
        rollout_usecases::driver::DriveError,
    >,
) -> SetRollout {
    let home = s.adapters.driver("test", &[], None);
    let places = AwsPlaces::new(&s.adapters, &s.stack.sdk_config());
    let sets = SetDriver {
        home: &home,
        places: &places,
    };
    let stepped = act(&sets).await.expect("the set steps");
    assert_eq!(stepped.warning, None, "the notification was published");
    stepped.set
}

/// Every member's `live` alias: (version, routing).
async fn standing(s: &Setup) -> Vec<(String, Option<(String, f64)>)> {
    let mut all = Vec::new();
    for name in MEMBERS {
        let alias = s.world.alias(name).await;
        all.push((alias.version, alias.routing));
    }
    all
}

fn back() -> Vec<(String, Option<(String, f64)>)> {
    vec![("1".into(), None); 3]
}

/// The `rollout` command run to its end; its exit code must be 0.
fn rollout(s: &Setup, args: &[&str]) -> std::process::Output {
    let out = rollout_cli(&s.stack, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test]
async fn the_alarm_rollback_function_puts_every_member_back_on_one_members_alarm() {
    let (s, set) = started().await;
    let topic = s.world.topic_arn.clone();
    s.world
        .deploy_binary(
            "rollout-alarm-rollback",
            "alarm-rollback",
            &[("NOTIFICATION_TOPIC_ARN", &topic)],
        )
        .await;
    s.world
        .set_alarm("orders-worker-errors", StateValue::Alarm)
        .await;
    let event = rollout_testkit::events::alarm_went_off(
        "orders-worker-errors",
        &s.world.alarm_arn("orders-worker-errors").await,
        json!({"FunctionName": "orders-worker", "Resource": "orders-worker:live"}),
    );
    let (error, report) = s.world.invoke("rollout-alarm-rollback", &event).await;
    assert_eq!(error, None, "{report}");
    assert_eq!(standing(&s).await, back());
    let put_back: Vec<&str> = report["rolledBack"]
        .as_array()
        .expect("rolledBack")
        .iter()
        .map(|m| m["functionName"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(put_back, MEMBERS, "{report}");
    assert_eq!(report["sets"][0]["set"], "checkout", "{report}");
    let notes = s.world.notifications().await;
    let events: Vec<&str> = notes.iter().filter_map(|n| n["event"].as_str()).collect();
    assert_eq!(events, ["rollout.started", "rollout.rolled_back"]);
    let note = &notes[1];
    assert_eq!(note["set"], "checkout");
    assert_eq!(
        note["functionName"], "orders-worker",
        "the member whose alarm fired"
    );
    assert_eq!(note["source"], "alarm-rollback");
    assert_eq!(
        note["eventId"],
        format!("{}/0/rollout.rolled_back", set.rollout_id)
    );
    assert_eq!(note["members"].as_array().map(Vec::len), Some(3), "{note}");
    let subject = note["_subject"].as_str().unwrap_or_default();
    assert!(
        subject.starts_with("checkout (3 functions) rolled back: members[1] orders-worker:live"),
        "{subject}"
    );
}

#[tokio::test]
async fn status_on_any_member_lists_the_set_and_every_member() {
    let (s, set) = started().await;
    let out = rollout(
        &s,
        &[
            "status",
            "--function",
            "orders-worker",
            "--alias",
            "live",
            "--output",
            "json",
        ],
    );
    let doc = stdout_json(&out);
    assert_eq!(doc["functionName"], "orders-worker", "{doc:#}");
    assert_eq!(doc["set"], "checkout");
    assert_eq!(doc["rolloutId"], set.rollout_id.as_str());
    assert_eq!(doc["status"], "InProgress");
    assert_eq!(doc["stepIndex"], 0);
    let members: Vec<Value> = doc["members"].as_array().expect("members").clone();
    let names: Vec<&str> = members
        .iter()
        .map(|m| m["functionName"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, MEMBERS, "{doc:#}");
    for m in &members {
        assert_eq!(
            (&m["alias"], &m["currentVersion"], &m["targetVersion"]),
            (&json!("live"), &json!("1"), &json!("2")),
            "{m}"
        );
        assert_eq!(m["weight"], 0.1, "{m}");
        assert_eq!(m["region"], rollout_testkit::REGION, "{m}");
    }
    let text = rollout(
        &s,
        &["status", "--function", "orders-audit", "--alias", "live"],
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "set checkout (3 functions), rollout {}: InProgress at step 1",
            set.rollout_id
        )),
        "{text}"
    );
    for name in MEMBERS {
        assert!(
            text.contains(&format!("  {name}:live 1 -> 2, 10% on 2")),
            "{text}"
        );
    }
}

#[tokio::test]
async fn pause_on_any_member_is_written_on_the_lead_and_holds_the_whole_set() {
    let (s, set) = started().await;
    let topic = s.world.topic_arn.clone();
    let out = rollout(
        &s,
        &[
            "pause",
            "--function",
            "orders-audit",
            "--alias",
            "live",
            "--reason",
            "checkout looks slow",
            "--topic",
            &topic,
            "--output",
            "json",
        ],
    );
    let doc = stdout_json(&out);
    assert_eq!(doc["set"], "checkout", "{doc:#}");
    assert_eq!(doc["lead"]["functionName"], "orders-api");
    let lead = s
        .adapters
        .aliases
        .get("orders-api", "live")
        .await
        .expect("the lead");
    let marker = lead.marker().expect("the lead's marker");
    assert_eq!(marker.control, Some(Control::Paused));
    // The hold is over, but the set is paused: no member moves.
    let due = set.next_step_at.expect("holding");
    let held = drive(&s, async |sets| sets.step(&set, due).await).await;
    assert_eq!(held.control, Some(Control::Paused));
    assert_eq!(held.step_index, 0);
    assert_eq!(
        standing(&s).await,
        vec![("1".into(), Some(("2".into(), 0.1))); 3]
    );
    let notes = s.world.notifications().await;
    let paused = notes.last().expect("told");
    assert_eq!(paused["event"], "rollout.paused", "{paused}");
    assert_eq!(paused["set"], "checkout");
}

#[tokio::test]
async fn abort_on_any_member_puts_every_member_back() {
    let (s, set) = started().await;
    let topic = s.world.topic_arn.clone();
    let out = rollout(
        &s,
        &[
            "abort",
            "--function",
            "orders-worker",
            "--alias",
            "live",
            "--topic",
            &topic,
            "--output",
            "json",
        ],
    );
    let doc = stdout_json(&out);
    assert_eq!(standing(&s).await, back());
    assert_eq!(doc["set"], "checkout", "{doc:#}");
    assert_eq!(doc["status"], "Aborted");
    let restored: Vec<&str> = doc["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["restoredVersion"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(restored, ["1", "1", "1"], "{doc:#}");
    let notes = s.world.notifications().await;
    let events: Vec<&str> = notes.iter().filter_map(|n| n["event"].as_str()).collect();
    assert_eq!(events, ["rollout.started", "rollout.aborted"]);
    assert_eq!(notes[1]["set"], "checkout");
    assert_eq!(
        notes[1]["eventId"],
        format!("{}/0/rollout.aborted", set.rollout_id)
    );
}
