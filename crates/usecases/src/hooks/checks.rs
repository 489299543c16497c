//! What a hook concludes from what it saw: each check's finding (what held, or why it failed
//! with its evidence) and the verdict they add up to. No I/O here.

use serde_json::Value;

use rollout_core::{AlarmVerdict, PublishedVersion};

/// How much of a smoke answer goes into a reason.
pub const EVIDENCE_BYTES: usize = 256;

/// One check: `Ok(what held)` or `Err(why it failed)`.
pub type Finding = Result<String, String>;

/// The hook's conclusion: it passes when no check failed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdict {
    pub held: Vec<String>,
    pub failures: Vec<String>,
    /// The named alarms as last read, for the notification.
    pub alarms: Vec<AlarmVerdict>,
    /// The post-traffic hook's canary judgement, for the notification (`lastJudgement`).
    pub judgement: Option<rollout_core::Judgement>,
}

impl Verdict {
    pub fn record(&mut self, finding: Finding) {
        match finding {
            Ok(held) => self.held.push(held),
            Err(failure) => self.failures.push(failure),
        }
    }

    pub fn failed(reason: impl Into<String>) -> Verdict {
        Verdict {
            failures: vec![reason.into()],
            ..Verdict::default()
        }
    }

    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The failures when any, else what held.
    pub fn reason(&self) -> String {
        if self.passed() {
            self.held.join("; ")
        } else {
            self.failures.join("; ")
        }
    }
}

/// The target version must exist, be `Active`, and its last update must have succeeded: the
/// same rule a rollout's start applies ([`PublishedVersion::readiness`]), once the wait for
/// a `Pending` one (`waited_seconds`) is over.
pub fn target_version(
    function: &str,
    version: &str,
    seen: &PublishedVersion,
    waited_seconds: u64,
) -> Finding {
    seen.readiness(function, version)
        .after_waiting(waited_seconds)
        .into_result()
}

/// No named alarm may be in ALARM, missing or unreadable (fail closed).
pub fn alarms(verdicts: &[AlarmVerdict]) -> Finding {
    if verdicts.is_empty() {
        return Ok("no alarms named".into());
    }
    match rollout_core::alarms::failing(verdicts) {
        Some(failing) => Err(failing),
        None => {
            let names: Vec<&str> = verdicts.iter().map(|v| v.name.as_str()).collect();
            Ok(format!("no alarm in ALARM ({})", names.join(", ")))
        }
    }
}

/// A smoke answer fails on a function error, and, when `expect` is given, unless it is JSON
/// that contains `expect` (see [`subset_mismatch`]).
pub fn smoke(
    version: &str,
    function_error: Option<&str>,
    answer: &[u8],
    expect: Option<&Value>,
) -> Finding {
    let evidence = evidence(answer);
    if let Some(error) = function_error {
        return Err(format!(
            "smoke test: version {version} failed ({error}); it answered {evidence}"
        ));
    }
    let Some(expected) = expect else {
        return Ok(format!("smoke test: version {version} answered"));
    };
    let actual: Value = serde_json::from_slice(answer).map_err(|_| {
        format!("smoke test: version {version} answered with something not JSON: {evidence}")
    })?;
    match subset_mismatch(expected, &actual) {
        None => Ok(format!(
            "smoke test: version {version} answered as expected"
        )),
        Some(mismatch) => Err(format!(
            "smoke test: version {version}'s answer does not contain SMOKE_TEST_EXPECT \
             ({mismatch}); it answered {evidence}"
        )),
    }
}

/// `None` when `actual` contains `expected`: every key of an expected object is present with
/// a value that contains the expected one; expected arrays match item by item, same length;
/// numbers by value (`1` = `1.0`); anything else by equality. Else where they first differ.
pub fn subset_mismatch(expected: &Value, actual: &Value) -> Option<String> {
    mismatch_at("$", expected, actual)
}

fn mismatch_at(path: &str, expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => want.iter().find_map(|(key, value)| {
            let at = format!("{path}.{key}");
            match have.get(key) {
                None => Some(format!("{at} is missing")),
                Some(found) => mismatch_at(&at, value, found),
            }
        }),
        (Value::Array(want), Value::Array(have)) if want.len() != have.len() => Some(format!(
            "{path}: expected {} items, got {}",
            want.len(),
            have.len()
        )),
        (Value::Array(want), Value::Array(have)) => want
            .iter()
            .zip(have)
            .enumerate()
            .find_map(|(i, (w, h))| mismatch_at(&format!("{path}[{i}]"), w, h)),
        (Value::Number(w), Value::Number(h)) if w == h || w.as_f64() == h.as_f64() => None,
        (w, h) if w == h => None,
        (w, h) => Some(format!("{path}: expected {w}, got {h}")),
    }
}

/// The first [`EVIDENCE_BYTES`] of an answer, as text.
pub fn evidence(answer: &[u8]) -> String {
    if answer.is_empty() {
        return "nothing".into();
    }
    let text = String::from_utf8_lossy(answer);
    let mut end = text.len().min(EVIDENCE_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len() {
        format!("{}…", &text[..end])
    } else {
        text.into_owned()
    }
}

/// The post-traffic hook's judgement: a fail fails the hook; too few calls fail it too
/// unless `onInsufficientData` is `pass` (an extension cannot outlast the invocation).
pub fn judgement(analysis: &rollout_core::Analysis, j: &rollout_core::Judgement) -> Finding {
    use rollout_core::judgement::OnInsufficientData;
    use rollout_core::Verdict as Judged;
    match (j.verdict, analysis.on_insufficient_data) {
        (Judged::Pass, _) => Ok(format!("canary judgement passed: {}", j.reason)),
        (Judged::Insufficient, OnInsufficientData::Pass) => {
            Ok(format!("canary judgement passed untested: {}", j.reason))
        }
        (Judged::Insufficient, _) => Err(format!(
            "canary judgement: too few calls during the bake: {}",
            j.reason
        )),
        (Judged::Fail, _) => Err(format!("canary judgement failed: {}", j.reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollout_core::AlarmState;
    use serde_json::json;

    #[test]
    fn an_object_with_more_keys_contains_fewer() {
        let actual = json!({"status": "ok", "version": "7", "items": [1, {"id": 2, "x": 0}]});
        assert_eq!(subset_mismatch(&json!({"status": "ok"}), &actual), None);
        assert_eq!(
            subset_mismatch(&json!({"items": [1, {"id": 2}]}), &actual),
            None
        );
        assert_eq!(subset_mismatch(&json!({}), &actual), None);
    }

    #[test]
    fn a_mismatch_names_where() {
        let actual = json!({"status": "error", "items": [1, {"id": 3}], "n": 1});
        assert_eq!(
            subset_mismatch(&json!({"status": "ok"}), &actual).unwrap(),
            r#"$.status: expected "ok", got "error""#
        );
        assert_eq!(
            subset_mismatch(&json!({"items": [1, {"id": 2}]}), &actual).unwrap(),
            "$.items[1].id: expected 2, got 3"
        );
        assert_eq!(
            subset_mismatch(&json!({"missing": null}), &actual).unwrap(),
            "$.missing is missing"
        );
        assert_eq!(
            subset_mismatch(&json!({"items": [1]}), &actual).unwrap(),
            "$.items: expected 1 items, got 2"
        );
    }

    #[test]
    fn numbers_compare_by_value_and_scalars_by_equality() {
        assert_eq!(subset_mismatch(&json!({"n": 1.0}), &json!({"n": 1})), None);
        assert!(subset_mismatch(&json!({"n": "1"}), &json!({"n": 1})).is_some());
        assert!(subset_mismatch(&json!("two"), &json!("one")).is_some());
        assert_eq!(subset_mismatch(&json!(true), &json!(true)), None);
    }

    #[test]
    fn smoke_fails_on_a_function_error_with_the_answer_as_evidence() {
        let failure =
            smoke("7", Some("Unhandled"), br#"{"errorMessage":"boom"}"#, None).unwrap_err();
        assert!(failure.contains("Unhandled"), "{failure}");
        assert!(failure.contains(r#"{"errorMessage":"boom"}"#), "{failure}");
    }

    #[test]
    fn smoke_checks_the_expected_subset_only_when_asked() {
        let answer = br#"{"tag":"two"}"#;
        assert!(smoke("7", None, answer, None).is_ok());
        assert!(smoke("7", None, answer, Some(&json!({"tag": "two"}))).is_ok());
        let failure = smoke("7", None, answer, Some(&json!({"tag": "one"}))).unwrap_err();
        assert!(
            failure.contains(r#"$.tag: expected "one", got "two""#),
            "{failure}"
        );
        assert!(smoke("7", None, b"plain text", Some(&json!({})))
            .unwrap_err()
            .contains("not JSON"));
    }

    #[test]
    fn evidence_is_the_first_bytes_on_a_char_boundary() {
        let long = "é".repeat(400);
        let shown = evidence(long.as_bytes());
        assert!(shown.ends_with('…') && shown.len() <= EVIDENCE_BYTES + '…'.len_utf8());
        assert_eq!(evidence(b""), "nothing");
        assert_eq!(evidence(b"short"), "short");
    }

    #[test]
    fn the_target_must_be_active_and_successfully_updated() {
        let present = |state: &str, update: &str| {
            PublishedVersion::Present(rollout_core::VersionConfig {
                state: state.into(),
                last_update_status: update.into(),
                ..Default::default()
            })
        };
        assert!(target_version("orders", "7", &present("Active", "Successful"), 0).is_ok());
        assert_eq!(
            target_version("orders", "7", &PublishedVersion::Missing, 0).unwrap_err(),
            "version 7 of orders does not exist"
        );
        let still =
            target_version("orders", "7", &present("Pending", "Successful"), 40).unwrap_err();
        assert!(
            still.contains("Pending, still after waiting 40s"),
            "{still}"
        );
        assert!(
            target_version("orders", "7", &present("Active", "Failed"), 0)
                .unwrap_err()
                .contains("last update Failed")
        );
    }

    #[test]
    fn alarms_fail_closed() {
        assert!(alarms(&[]).is_ok());
        assert!(alarms(&[
            AlarmVerdict::new("a", AlarmState::Ok),
            AlarmVerdict::new("b", AlarmState::InsufficientData)
        ])
        .is_ok());
        let failure = alarms(&[
            AlarmVerdict::new("a", AlarmState::Alarm),
            AlarmVerdict::new("gone", AlarmState::Missing),
        ])
        .unwrap_err();
        assert!(
            failure.contains("a is in ALARM") && failure.contains("gone does not exist"),
            "{failure}"
        );
    }

    #[test]
    fn a_verdict_fails_when_any_check_failed() {
        let mut verdict = Verdict::default();
        verdict.record(Ok("version 7 of orders is Active".into()));
        assert!(verdict.passed());
        assert_eq!(verdict.reason(), "version 7 of orders is Active");
        verdict.record(Err("alarm a is in ALARM".into()));
        assert!(!verdict.passed());
        assert_eq!(verdict.reason(), "alarm a is in ALARM");
    }
}
