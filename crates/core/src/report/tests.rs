use chrono::TimeZone;

use super::*;
use crate::state::Status;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 13, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

fn point(seconds: i64, value: f64) -> Point {
    Point {
        at: at(seconds),
        value,
    }
}

fn input() -> ReportInput {
    ReportInput {
        function: "orders".into(),
        alias: "live".into(),
        rollout_id: Some("r-20261123T130000000Z".into()),
        start: at(-60),
        end: at(600),
        weight: vec![
            point(0, 10.0),
            point(30, 10.0),
            point(60, 50.0),
            point(90, 0.0),
        ],
        verdict: vec![],
        versions: vec![
            VersionSeries {
                version: "1".into(),
                invocations: vec![point(0, 900.0), point(60, 500.0)],
                errors: vec![point(0, 1.0)],
                p99_ms: vec![point(0, 120.0), point(60, 130.0)],
            },
            VersionSeries {
                version: "2".into(),
                invocations: vec![point(0, 100.0), point(60, 500.0)],
                errors: vec![point(0, 2.0), point(60, 60.0)],
                p99_ms: vec![point(0, 150.0)],
            },
        ],
        alarms: vec!["orders-errors".into()],
        changes: vec![AlarmChange {
            alarm: "orders-errors".into(),
            at: at(85),
            from: "OK".into(),
            to: "ALARM".into(),
            reason: "Threshold <crossed> & \"more\"".into(),
        }],
        outcome: Marker::parse(
            "lambda-rollout id=r-20261123T130000000Z from=1 to=2 step=1 w=0 status=RolledBack \
             by=rollout-cli why=alarm%20orders-errors%20is%20ALARM",
        ),
        outcome_current: true,
        alias_now: "1".into(),
        generated_at: at(700),
        set: None,
    }
}

#[test]
fn the_steps_are_the_weights_changes_in_order() {
    let steps: Vec<f64> = weight_steps(&input().weight)
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(steps, [10.0, 50.0, 0.0]);
    let html = render(&input());
    let shown: Vec<&str> = html
        .split("<li class=\"step\" data-percent=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(shown, ["10", "50", "0"]);
}

#[test]
fn error_rates_are_per_minute_with_calls() {
    let rates = error_rates(&input().versions[1]);
    assert_eq!(rates, [point(0, 2.0), point(60, 12.0)]);
    let none = VersionSeries {
        version: "3".into(),
        errors: vec![point(0, 5.0)],
        ..VersionSeries::default()
    };
    assert!(error_rates(&none).is_empty(), "no calls, no rate");
}

#[test]
fn the_page_carries_the_outcome_alarm_change_and_versions() {
    let html = render(&input());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("class=\"outcome rolledback\""), "{html}");
    assert!(html.contains("<dd id=\"why\">alarm orders-errors is ALARM</dd>"));
    assert!(html.contains("data-alarm=\"orders-errors\" data-from=\"OK\" data-to=\"ALARM\""));
    assert!(html.contains("data-version=\"1\"") && html.contains("data-version=\"2\""));
    for chart in ["weight-chart", "error-rate-chart", "p99-chart"] {
        assert!(html.contains(&format!("<svg id=\"{chart}\"")), "{chart}");
    }
    assert_eq!(
        html.matches("class=\"mark\"").count(),
        3,
        "one alarm mark per chart"
    );
}

#[test]
fn every_inserted_text_is_escaped_and_nothing_is_fetched_or_run() {
    let mut input = input();
    input.function = "<script>alert(1)</script>".into();
    input.alarms = vec!["a\"><img src=x>".into()];
    input.changes[0].alarm = "a\"><img src=x>".into();
    input.alias_now = "\u{1b}[31m".into();
    let html = render(&input);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains('\u{1b}'));
    assert!(html.contains("<dd>\\u001b[31m</dd>"), "shown, not dropped");
    assert!(html.contains("Threshold &lt;crossed&gt; &amp; &quot;more&quot;"));
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[test]
fn without_a_marker_or_data_the_page_says_so() {
    let input = ReportInput {
        weight: vec![],
        versions: vec![],
        changes: vec![],
        alarms: vec![],
        outcome: None,
        ..input()
    };
    let html = render(&input);
    assert!(html.contains("The alias records no outcome for this window."));
    assert!(html.contains("No TrafficWeight in this window."));
    assert!(html.contains("no data in this window"));
    assert!(html.contains("No CanaryVerdict in this window"));
}

#[test]
fn a_version_without_calls_has_zero_calls_and_errors_not_minus_zero() {
    let quiet = VersionSeries {
        version: "3".into(),
        invocations: vec![],
        errors: vec![],
        p99_ms: vec![],
    };
    let input = ReportInput {
        versions: vec![quiet],
        ..input()
    };
    let html = render(&input);
    assert!(
        html.contains("<td class=\"num\">0</td><td class=\"num\">0</td>"),
        "{html}"
    );
    assert!(!html.contains(">-0<"), "{html}");
}

#[test]
fn a_failed_verdict_is_marked_and_listed() {
    let input = ReportInput {
        verdict: vec![point(30, 0.0), point(70, 1.0)],
        outcome: input().outcome.map(|m| Marker {
            status: Status::RolledBack,
            ..m
        }),
        ..input()
    };
    let html = render(&input);
    assert!(html.contains("Failed at 13:01:10."), "{html}");
    assert!(html.contains("<title>canary verdict: fail</title>"));
}

#[test]
fn a_bidirectional_override_in_an_alarm_reason_is_shown_not_obeyed() {
    let mut input = input();
    // "…exe.pdf" would read as "…fdp.exe": the override is shown where it was.
    input.changes[0].reason = "see invoice\u{202e}fdp.exe".into();
    input.changes[0].alarm = "orders\u{2066}-errors\u{2069}".into();
    input.alarms = vec!["orders\u{200f}".into()];
    input.outcome = input.outcome.map(|m| Marker {
        why: Some("rolled back \u{61c}by\u{200e} ops".into()),
        ..m
    });
    let html = render(&input);
    assert!(
        !html.chars().any(crate::printable::is_bidi_control),
        "{html}"
    );
    assert!(html.contains("see invoice\\u202efdp.exe"), "{html}");
    assert!(
        html.contains("data-alarm=\"orders\\u2066-errors\\u2069\""),
        "{html}"
    );
    assert!(html.contains("<dd id=\"why\">rolled back \\u061cby\\u200e ops</dd>"));
}

#[test]
fn a_set_members_report_lists_every_member_where_it_stands() {
    let member = |label: &str, now: &str| SetMemberNow {
        label: label.into(),
        from_version: "1".into(),
        to_version: "2".into(),
        alias_now: now.into(),
        status: "RolledBack".into(),
    };
    let html = render(&ReportInput {
        set: Some((
            "check<out>".into(),
            vec![
                member("orders-api:live", "1"),
                member("orders-worker:live", "1"),
            ],
        )),
        ..input()
    });
    assert!(
        html.contains("<h2>Release set check&lt;out&gt; (2 members)</h2>"),
        "{html}"
    );
    assert!(
        html.contains("orders-worker:live: 1 → 2, now 1 (RolledBack)"),
        "{html}"
    );
}
