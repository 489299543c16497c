//! The hook's promise — CodeDeploy always gets exactly one answer — held against in-memory
//! adapters that fail, hang and panic on demand.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::fakes::*;
use super::*;
use crate::ports::Answered;
use crate::ports::CallFailed;
use rollout_core::AlarmState;

fn event() -> Value {
    crate::testing::sample("codedeploy-hook.json")
}

fn in_seconds(s: u64) -> Instant {
    Instant::now() + Duration::from_secs(s)
}

#[test]
fn the_sample_event_parses_and_an_event_without_ids_is_refused() {
    let parsed = parse_event(event()).unwrap();
    assert_eq!(parsed.deployment_id, "d-ABCDEF123");
    let err = parse_event(json!({"DeploymentId": "d-1"})).unwrap_err();
    assert_eq!(err.field, "event");
    let err =
        parse_event(json!({"DeploymentId": "", "LifecycleEventHookExecutionId": "h"})).unwrap_err();
    assert_eq!(err.field, "DeploymentId");
}

#[test]
fn poll_seconds_defaults_to_five_and_must_be_whole() {
    let get = |v: Option<&'static str>| {
        move |n: &str| {
            (n == "POLL_SECONDS")
                .then_some(v)
                .flatten()
                .map(String::from)
        }
    };
    assert_eq!(
        HookSettings::from_lookup(&get(None)).unwrap().poll,
        Duration::from_secs(5)
    );
    assert_eq!(
        HookSettings::from_lookup(&get(Some("2"))).unwrap().poll,
        Duration::from_secs(2)
    );
    assert_eq!(
        HookSettings::from_lookup(&get(Some("0")))
            .unwrap_err()
            .field,
        "POLL_SECONDS"
    );
    assert_eq!(
        HookSettings::from_lookup(&get(Some("1.5")))
            .unwrap_err()
            .field,
        "POLL_SECONDS"
    );
}

#[test]
fn the_budget_keeps_time_to_answer() {
    let now = Instant::now();
    let long = Budget::new(now, now + Duration::from_secs(900), Duration::from_secs(10));
    assert_eq!(long.checks_by, now + Duration::from_secs(890));
    assert_eq!(long.bake_by, now + Duration::from_secs(880));
    // A short invocation keeps a quarter of its time for each.
    let short = Budget::new(now, now + Duration::from_secs(4), Duration::from_secs(10));
    assert_eq!(short.checks_by, now + Duration::from_secs(3));
    assert_eq!(short.bake_by, now + Duration::from_secs(2));
    let past = Budget::new(now, now, Duration::from_secs(10));
    assert_eq!((past.checks_by, past.bake_by), (now, now));
}

#[tokio::test]
async fn a_healthy_target_is_answered_succeeded_and_announced() {
    let (hook, seen) = hook(HookKind::PreTraffic, Fakes::default());
    let report = hook.answer_by(event(), in_seconds(30)).await.unwrap();
    assert_eq!(report.status, "Succeeded", "{report:?}");
    assert!(report.reason.contains("answered as expected"), "{report:?}");
    assert_eq!(report.target.as_ref().unwrap().target_version, "7");
    assert_eq!(
        seen.answers_and_events(),
        (vec![true], vec!["hook.succeeded"])
    );
}

#[tokio::test]
async fn a_panicking_check_is_answered_failed_then_surfaces() {
    let fakes = Fakes {
        alarms: Some(alarms(vec![Alarms::Panic])),
        ..Fakes::default()
    };
    let (hook, seen) = hook(HookKind::PreTraffic, fakes);
    let err = hook.answer_by(event(), in_seconds(30)).await.unwrap_err();
    assert_eq!(err.error_type(), "Panicked");
    assert!(err.to_string().contains("alarm source exploded"), "{err}");
    assert_eq!(
        seen.answers_and_events(),
        (vec![false], vec!["hook.failed"])
    );
}

#[tokio::test]
async fn a_check_that_hangs_is_cut_off_and_answered_failed_before_the_deadline() {
    let fakes = Fakes {
        alarms: Some(alarms(vec![Alarms::Hang])),
        ..Fakes::default()
    };
    let (hook, seen) = hook(HookKind::PreTraffic, fakes);
    let deadline = Instant::now() + Duration::from_millis(800);
    let err = hook.answer_by(event(), deadline).await.unwrap_err();
    assert!(Instant::now() < deadline, "answered too late");
    assert_eq!(err.error_type(), "Timeout");
    assert_eq!(seen.answers_and_events().0, [false]);
}

#[tokio::test]
async fn failed_discovery_is_still_answered() {
    let fakes = Fakes {
        deployments: FakeDeployments {
            appspec: Some(Err(DeploymentError::Aws(CallFailed {
                operation: "GetDeployment",
                message: "AccessDeniedException".into(),
                transient: true,
            }))),
            ..FakeDeployments::default()
        },
        ..Fakes::default()
    };
    let (hook, seen) = hook(HookKind::PreTraffic, fakes);
    let err = hook.answer_by(event(), in_seconds(30)).await.unwrap_err();
    assert_eq!(err.error_type(), "DiscoveryFailed");
    assert_eq!(
        seen.answers_and_events(),
        (vec![false], vec!["hook.failed"])
    );
    let sent = seen.sent.lock().unwrap();
    assert_eq!(sent[0].rollout_id, "d-ABCDEF123");
    assert!(sent[0].reason.as_ref().unwrap().contains("AccessDenied"));
}

#[tokio::test]
async fn a_bad_configuration_is_answered_failed() {
    let (mut hook, seen) = hook(HookKind::PreTraffic, Fakes::default());
    hook.settings = settings(&[("BAKE_SECONDS", "soon")]);
    let err = hook.answer_by(event(), in_seconds(30)).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidConfiguration");
    assert_eq!(seen.answers_and_events(), (vec![false], vec![]));
}

#[tokio::test]
async fn an_event_without_ids_is_refused_without_answering() {
    let (hook, seen) = hook(HookKind::PreTraffic, Fakes::default());
    let err = hook
        .answer_by(json!({"hello": 1}), in_seconds(30))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidInput");
    assert_eq!(seen.answers_and_events(), (vec![], vec![]));
}

#[tokio::test]
async fn a_refused_answer_fails_the_invocation_so_lambda_retries() {
    let fakes = Fakes {
        deployments: FakeDeployments {
            answer: Some(Err(DeploymentError::Aws(CallFailed {
                operation: "PutLifecycleEventHookExecutionStatus",
                message: "ThrottlingException".into(),
                transient: true,
            }))),
            ..FakeDeployments::default()
        },
        ..Fakes::default()
    };
    let (hook, seen) = hook(HookKind::PreTraffic, fakes);
    let err = hook.answer_by(event(), in_seconds(30)).await.unwrap_err();
    assert!(
        matches!(
            err,
            HookError::Unanswered {
                status: "Succeeded",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.error_type(), "AwsError");
    assert_eq!(seen.answers_and_events(), (vec![true], vec!["hook.failed"]));
}

/// A retry finds CodeDeploy already answered; `earlier` is what CodeDeploy recorded.
fn retried(earlier: Result<Option<bool>, DeploymentError>) -> Fakes {
    Fakes {
        deployments: FakeDeployments {
            answer: Some(Ok(Answered::Already)),
            earlier: Some(earlier),
            ..FakeDeployments::default()
        },
        ..Fakes::default()
    }
}

#[tokio::test]
async fn a_retry_after_an_answer_tells_it_again_under_the_same_event_id() {
    let (first, first_seen) = hook(HookKind::PreTraffic, Fakes::default());
    first.answer_by(event(), in_seconds(30)).await.unwrap();
    let (hook, seen) = hook(HookKind::PreTraffic, retried(Ok(Some(true))));
    let report = hook.answer_by(event(), in_seconds(30)).await.unwrap();
    assert!(!report.answered_now && report.notified);
    assert_eq!(
        seen.answers_and_events(),
        (vec![true], vec!["hook.succeeded"])
    );
    let (once, again) = (
        first_seen.sent.lock().unwrap()[0].clone(),
        seen.sent.lock().unwrap()[0].clone(),
    );
    assert_eq!(
        again.event_id, once.event_id,
        "a subscriber drops the second"
    );
    assert_eq!(again.reason, once.reason);
}

#[tokio::test]
async fn a_retry_tells_what_codedeploy_recorded_not_what_it_sees_now() {
    // The earlier attempt answered Failed (an alarm fired then); this one would pass.
    let (hook, seen) = hook(HookKind::PreTraffic, retried(Ok(Some(false))));
    hook.answer_by(event(), in_seconds(30)).await.unwrap();
    let sent = seen.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].event, "hook.failed");
    assert_eq!(
        sent[0].reason.as_deref(),
        Some("an earlier attempt answered CodeDeploy Failed")
    );
}

#[tokio::test]
async fn a_retry_that_cannot_learn_the_earlier_answer_says_nothing() {
    for earlier in [
        Ok(None),
        Err(DeploymentError::Aws(CallFailed {
            operation: "ListDeploymentTargets",
            message: "throttled".into(),
            transient: true,
        })),
    ] {
        let (hook, seen) = hook(HookKind::PreTraffic, retried(earlier));
        let report = hook.answer_by(event(), in_seconds(30)).await.unwrap();
        assert!(!report.answered_now && !report.notified);
        assert_eq!(seen.answers_and_events(), (vec![true], vec![]));
    }
}

#[tokio::test]
async fn a_failed_publish_is_an_error_after_the_answer() {
    let fakes = Fakes {
        refuse_publish: true,
        ..Fakes::default()
    };
    let (hook, seen) = hook(HookKind::PreTraffic, fakes);
    let err = hook.answer_by(event(), in_seconds(30)).await.unwrap_err();
    assert_eq!(err.error_type(), "NotificationFailed");
    assert_eq!(seen.answers_and_events().0, [true]);
}

#[tokio::test]
async fn the_bake_fails_as_soon_as_an_alarm_fires() {
    let script = vec![
        Alarms::States(vec![AlarmState::Ok]),
        Alarms::States(vec![AlarmState::Alarm]),
    ];
    let fakes = Fakes {
        alarms: Some(alarms(script)),
        ..Fakes::default()
    };
    let (hook, seen) = hook(HookKind::PostTraffic, fakes);
    let started = Instant::now();
    let report = hook.answer_by(event(), in_seconds(30)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "waited out the bake"
    );
    assert_eq!(report.status, "Failed");
    assert!(report.reason.contains("errors is in ALARM"), "{report:?}");
    assert_eq!(
        seen.answers_and_events(),
        (vec![false], vec!["hook.failed"])
    );
}

#[tokio::test]
async fn the_bake_watches_for_its_length_then_succeeds() {
    let (hook, seen) = hook(HookKind::PostTraffic, Fakes::default());
    let started = Instant::now();
    let report = hook.answer_by(event(), in_seconds(30)).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(report.status, "Succeeded", "{report:?}");
    let reads = *seen.alarm_reads.lock().unwrap();
    assert!(reads >= 10, "polled {reads} times in a 1s bake at 20ms");
    assert_eq!(
        seen.answers_and_events(),
        (vec![true], vec!["hook.succeeded"])
    );
}

#[tokio::test]
async fn a_bake_longer_than_the_invocation_is_cut_and_says_so() {
    let (hook, _seen) = hook(HookKind::PostTraffic, Fakes::default());
    let deadline = Instant::now() + Duration::from_millis(600);
    let report = hook.answer_by(event(), deadline).await.unwrap();
    assert!(Instant::now() < deadline);
    assert_eq!(report.status, "Succeeded");
    assert!(report.reason.contains("cut"), "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn a_target_published_a_moment_ago_is_waited_for_then_checked() {
    let aliases = FakeAliases::on("6");
    aliases.script_versions([pending(), pending()]);
    let fakes = Fakes {
        aliases: Some(aliases),
        ..Fakes::default()
    };
    let (hook, seen) = hook(HookKind::PreTraffic, fakes);
    let report = hook.answer_by(event(), in_seconds(30)).await.unwrap();
    assert_eq!(report.status, "Succeeded", "{report:?}");
    assert!(
        report.reason.contains("version 7 of orders is Active"),
        "{report:?}"
    );
    assert_eq!(seen.answers_and_events().0, [true]);
}

#[tokio::test(start_paused = true)]
async fn a_target_still_pending_at_the_deadline_is_answered_failed_with_its_state() {
    let aliases = FakeAliases {
        target: pending(),
        ..FakeAliases::on("6")
    };
    let fakes = Fakes {
        aliases: Some(aliases),
        ..Fakes::default()
    };
    let (hook, seen) = hook(HookKind::PreTraffic, fakes);
    let report = hook.answer_by(event(), in_seconds(30)).await.unwrap();
    assert_eq!(report.status, "Failed", "{report:?}");
    assert!(
        report.reason.contains("version 7 of orders is Pending (Creating: The function is being created), still after waiting"),
        "{report:?}"
    );
    assert_eq!(
        seen.answers_and_events(),
        (vec![false], vec!["hook.failed"])
    );
}

fn judging(hook: &mut Hook, analysis: &str) {
    hook.settings = settings(&[
        ("BAKE_SECONDS", "1"),
        ("NOTIFICATION_TOPIC_ARN", TOPIC),
        ("ANALYSIS", analysis),
    ]);
}

#[tokio::test]
async fn with_analysis_the_bake_fails_on_the_new_versions_own_errors() {
    let fakes = Fakes {
        metrics: Some(FakeMetrics::counting((400, 40, None), (0, 0, None))),
        ..Fakes::default()
    };
    let (mut hook, seen) = hook(HookKind::PostTraffic, fakes);
    judging(&mut hook, r#"{"maxErrorRate": 0.02}"#);
    let report = hook.answer_by(event(), in_seconds(30)).await.unwrap();
    assert_eq!(report.status, "Failed");
    assert!(
        report
            .reason
            .contains("canary judgement failed: v7 failed 40 of 400 calls"),
        "{report:?}"
    );
    assert_eq!(
        seen.answers_and_events(),
        (vec![false], vec!["hook.failed"])
    );
    let sent = seen.sent.lock().unwrap();
    let judged = sent[0]
        .last_judgement
        .as_ref()
        .expect("the alert carries the judgement");
    assert_eq!(judged.verdict, rollout_core::Verdict::Fail);
    assert!(
        sent[0].text().contains("Judgement: fail"),
        "{}",
        sent[0].text()
    );
}

#[tokio::test]
async fn with_analysis_a_healthy_bake_passes_and_too_few_calls_fail_closed() {
    let healthy = Fakes {
        metrics: Some(FakeMetrics::counting((400, 0, None), (0, 0, None))),
        ..Fakes::default()
    };
    let (mut hook, _) = hook(HookKind::PostTraffic, healthy);
    judging(&mut hook, "{}");
    let report = hook.answer_by(event(), in_seconds(30)).await.unwrap();
    assert_eq!(report.status, "Succeeded", "{report:?}");
    assert!(
        report.reason.contains("canary judgement passed"),
        "{report:?}"
    );

    let (mut quiet, _) = super::fakes::hook(HookKind::PostTraffic, Fakes::default());
    judging(&mut quiet, "{}");
    let report = quiet.answer_by(event(), in_seconds(30)).await.unwrap();
    assert_eq!(report.status, "Failed");
    assert!(report.reason.contains("too few calls"), "{report:?}");
}

#[test]
fn a_bad_analysis_setting_fails_only_the_hook_that_judges() {
    let s = settings(&[("ANALYSIS", r#"{"confidence": 1.5}"#)]).expect("read at cold start");
    let e = s.analysis.unwrap().unwrap_err();
    assert_eq!(e.field, "ANALYSIS");
    assert!(e.problem.starts_with("analysis.confidence:"), "{e}");
}
