use super::*;
use proptest::prelude::*;
use serde_json::json;

fn calls(version: &str, invocations: u64, errors: u64, p99_ms: Option<f64>) -> VersionMetrics {
    VersionMetrics {
        version: version.into(),
        invocations,
        errors,
        p99_ms,
    }
}

/// DESIGN.md's example `analysis` (its other fields are the defaults).
fn design() -> Analysis {
    Analysis {
        max_error_rate: Some(0.05),
        max_latency_ratio: Some(1.5),
        ..Analysis::default()
    }
}

fn verdict(analysis: &Analysis, target: (u64, u64), current: (u64, u64)) -> Verdict {
    let t = calls("3", target.0, target.1, None);
    judge(analysis, &t, &calls("2", current.0, current.1, None)).0
}

#[test]
fn ten_errors_in_ten_calls_fail_before_the_minimum() {
    assert_eq!(
        verdict(&Analysis::default(), (10, 10), (9000, 12)),
        Verdict::Fail
    );
    assert_eq!(verdict(&design(), (10, 10), (0, 0)), Verdict::Fail);
}

#[test]
fn one_error_in_three_calls_is_neither_failed_nor_passed() {
    for analysis in [Analysis::default(), design()] {
        let (v, reason) = judge(
            &analysis,
            &calls("3", 3, 1, None),
            &calls("2", 9000, 12, None),
        );
        assert_eq!(v, Verdict::Insufficient, "{reason}");
    }
}

#[test]
fn three_clean_calls_are_not_passed() {
    let (v, reason) = judge(
        &design(),
        &calls("3", 3, 0, None),
        &calls("2", 9000, 12, None),
    );
    assert_eq!(v, Verdict::Insufficient);
    assert!(
        reason.ends_with(": 3 of the 50 calls needed, no clear failure yet"),
        "{reason}"
    );
}

#[test]
fn a_clear_increase_fails_with_the_numbers_in_the_reason() {
    let (v, reason) = judge(
        &design(),
        &calls("3", 1000, 41, None),
        &calls("2", 9000, 12, None),
    );
    assert_eq!(v, Verdict::Fail);
    assert_eq!(
        reason,
        "v3 failed 41 of 1000 calls (4.1%) vs v2 12 of 9000 (0.13%): \
         at 95% confidence the increase is above 1.0 points"
    );
}

#[test]
fn a_healthy_canary_passes() {
    let (v, reason) = judge(
        &design(),
        &calls("3", 500, 2, None),
        &calls("2", 4500, 20, None),
    );
    assert_eq!(v, Verdict::Pass, "{reason}");
    assert_eq!(
        reason,
        "v3 failed 2 of 500 calls (0.4%) vs v2 20 of 4500 (0.44%): within limits at 95% confidence"
    );
}

#[test]
fn the_old_versions_own_rate_passes_even_with_no_margin() {
    let strict = Analysis {
        max_error_rate_increase: 0.0,
        ..Analysis::default()
    };
    assert_eq!(verdict(&strict, (5000, 50), (45000, 450)), Verdict::Pass);
    assert_eq!(verdict(&strict, (5000, 90), (45000, 450)), Verdict::Fail);
}

#[test]
fn an_error_rate_shown_above_the_ceiling_fails() {
    let capped = Analysis {
        max_error_rate: Some(0.02),
        ..Analysis::default()
    };
    let (v, reason) = judge(
        &capped,
        &calls("3", 1000, 40, None),
        &calls("2", 1000, 40, None),
    );
    assert_eq!(v, Verdict::Fail);
    assert!(
        reason.ends_with(": at 95% confidence the error rate is above the 2% ceiling"),
        "{reason}"
    );
    // 2.5% observed, but its 95% lower bound (1.7%) is under the ceiling: not shown.
    assert_eq!(verdict(&capped, (1000, 25), (1000, 25)), Verdict::Pass);
}

#[test]
fn with_no_calls_of_the_old_version_the_margin_alone_is_the_bar() {
    let (v, reason) = judge(
        &design(),
        &calls("3", 1000, 30, None),
        &calls("2", 0, 0, None),
    );
    assert_eq!(v, Verdict::Fail);
    assert_eq!(
        reason,
        "v3 failed 30 of 1000 calls (3%) vs v2 with no calls: with no calls of v2 to compare, \
         at 95% confidence the error rate is above 1% alone"
    );
    assert_eq!(verdict(&design(), (1000, 5), (0, 0)), Verdict::Pass);
}

#[test]
fn no_calls_at_all_are_insufficient_without_nan() {
    let j = Judgement::new(
        &design(),
        calls("3", 0, 0, None),
        calls("2", 0, 0, None),
        "t".into(),
        Window {
            start: "s".into(),
            end: "e".into(),
        },
    );
    assert_eq!(j.verdict, Verdict::Insufficient);
    assert_eq!(
        j.reason,
        "v3 had no calls, nor v2: 0 of the 50 calls needed, no clear failure yet"
    );
    let shown = serde_json::to_value(&j).unwrap();
    assert_eq!(shown["target"]["errorRate"], json!(0.0));
}

#[test]
fn more_errors_than_calls_are_clamped_and_said() {
    let odd = calls("3", 10, 12, None);
    assert_eq!(odd.error_rate(), 1.0);
    let (v, reason) = judge(&design(), &odd, &calls("2", 9000, 12, None));
    assert_eq!(v, Verdict::Fail);
    assert!(
        reason.starts_with(
            "v3 failed 10 of 10 calls (100%) vs v2 12 of 9000 (0.13%) \
         (v3 counted 12 errors in 10 calls: taken as 10): "
        ),
        "{reason}"
    );
}

#[test]
fn a_slower_p99_fails_once_both_versions_have_the_minimum() {
    let old = calls("2", 9000, 0, Some(180.0));
    let (v, reason) = judge(&design(), &calls("3", 1000, 0, Some(271.0)), &old);
    assert_eq!(v, Verdict::Fail);
    assert!(
        reason.ends_with(": p99 271 vs 180 ms, above 1.5× (270 ms)"),
        "{reason}"
    );
    let (v, reason) = judge(&design(), &calls("3", 1000, 0, Some(270.0)), &old);
    assert_eq!(v, Verdict::Pass);
    assert!(
        reason.ends_with("; p99 270 vs 180 ms within 1.5×"),
        "{reason}"
    );
}

#[test]
fn latency_is_not_judged_below_the_minimum_or_without_a_p99() {
    let slow = Some(1000.0);
    let few_old = calls("2", 49, 0, Some(180.0));
    assert_eq!(
        judge(&design(), &calls("3", 1000, 0, slow), &few_old).0,
        Verdict::Pass
    );
    let old = calls("2", 9000, 0, Some(180.0));
    assert_eq!(
        judge(&design(), &calls("3", 49, 0, slow), &old).0,
        Verdict::Insufficient
    );
    for unknown in [None, Some(f64::NAN), Some(0.0), Some(-1.0)] {
        let unknown_old = calls("2", 9000, 0, unknown);
        assert_eq!(
            judge(&design(), &calls("3", 1000, 0, slow), &unknown_old).0,
            Verdict::Pass
        );
    }
}

#[test]
fn the_judgement_has_the_shape_of_last_judgement() {
    let j = Judgement::new(
        &design(),
        calls("3", 1000, 41, Some(212.0)),
        calls("2", 9000, 12, None),
        "2025-01-01T00:10:00Z".into(),
        Window {
            start: "2025-01-01T00:00:00Z".into(),
            end: "2025-01-01T00:10:00Z".into(),
        },
    );
    let shown = serde_json::to_value(&j).unwrap();
    assert_eq!(
        shown,
        json!({"verdict": "fail", "reason": j.reason, "at": "2025-01-01T00:10:00Z",
               "window": {"start": "2025-01-01T00:00:00Z", "end": "2025-01-01T00:10:00Z"},
               "target": {"version": "3", "invocations": 1000, "errors": 41,
                          "errorRate": 0.041, "p99Ms": 212.0},
               "current": {"version": "2", "invocations": 9000, "errors": 12,
                           "errorRate": 12.0 / 9000.0, "p99Ms": null}})
    );
    assert_eq!(serde_json::from_value::<Judgement>(shown).unwrap(), j);
}

fn analyses() -> impl Strategy<Value = Analysis> {
    (
        1u64..200,
        proptest::option::of(0.0..0.3f64),
        0.0..0.05f64,
        0.8..0.999f64,
    )
        .prop_map(
            |(min_invocations, max_error_rate, max_error_rate_increase, confidence)| Analysis {
                min_invocations,
                max_error_rate,
                max_error_rate_increase,
                confidence,
                ..Analysis::default()
            },
        )
}

proptest! {
    #[test]
    fn more_errors_never_pass_where_fewer_failed(
        a in analyses(), nt in 1u64..20_000, et in 0.0..1.0f64, nc in 0u64..200_000, ec in 0.0..0.2f64,
    ) {
        let et = ((et * nt as f64) as u64).min(nt - 1);
        let ec = (ec * nc as f64) as u64;
        if verdict(&a, (nt, et), (nc, ec)) == Verdict::Fail {
            prop_assert_eq!(verdict(&a, (nt, et + 1), (nc, ec)), Verdict::Fail);
        }
    }

    #[test]
    fn more_old_version_errors_never_fail_where_fewer_passed(
        a in analyses(), nt in 0u64..20_000, et in 0.0..0.2f64, nc in 1u64..200_000, ec in 0.0..1.0f64,
    ) {
        let et = (et * nt as f64) as u64;
        let ec = ((ec * nc as f64) as u64).min(nc - 1);
        if verdict(&a, (nt, et), (nc, ec)) != Verdict::Fail {
            prop_assert_ne!(verdict(&a, (nt, et), (nc, ec + 1)), Verdict::Fail);
        }
    }

    #[test]
    fn any_counts_give_a_verdict_and_a_reason_without_nan(
        nt: u64, et: u64, nc: u64, ec: u64, pt in proptest::num::f64::ANY, pc in proptest::num::f64::ANY,
    ) {
        let analysis = Analysis { max_latency_ratio: Some(1.5), ..Analysis::default() };
        let j = Judgement::new(&analysis, calls("3", nt, et, Some(pt)), calls("2", nc, ec, Some(pc)),
            String::new(), Window { start: String::new(), end: String::new() });
        prop_assert!(!j.reason.is_empty() && !j.reason.contains("NaN") && !j.reason.contains("inf"));
        let shown = serde_json::to_value(&j).unwrap();
        for side in ["target", "current"] {
            let rate = shown[side]["errorRate"].as_f64().unwrap();
            prop_assert!((0.0..=1.0).contains(&rate));
        }
    }
}

#[test]
fn the_progress_line_shows_both_versions() {
    let window = Window {
        start: "2026-11-23T13:00:00Z".into(),
        end: "2026-11-23T13:05:00Z".into(),
    };
    let j = Judgement::new(
        &Analysis::default(),
        calls("3", 500, 2, Some(41.2)),
        calls("2", 4500, 13, Some(38.0)),
        window.end.clone(),
        window,
    );
    assert_eq!(
        j.line(),
        "v3 2/500 errors (0.4%) vs v2 0.29%, p99 41 vs 38 ms"
    );
}

/// The figures in the README: the smallest observed increase failed at 95 % on a 10 % split
/// (the current version with 9 times the calls, at 0.5 %), in percentage points.
#[test]
fn the_smallest_increase_caught_at_95_percent_on_a_ten_percent_split() {
    let smallest = |margin: f64, n: u64| {
        let a = Analysis {
            max_error_rate_increase: margin,
            ..Analysis::default()
        };
        let (cn, ce) = (9 * n, 9 * n / 200);
        let k = (0..=n)
            .find(|k| verdict(&a, (n, *k), (cn, ce)) == Verdict::Fail)
            .unwrap();
        ((k as f64 / n as f64 - 0.005) * 10_000.0).round() / 100.0
    };
    assert_eq!((smallest(0.0, 200), smallest(0.0, 2000)), (2.5, 0.55));
    assert_eq!((smallest(0.01, 200), smallest(0.01, 2000)), (4.0, 1.75));
}
