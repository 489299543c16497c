//! The spec's `analysis` object: what a step is judged on, read with every error naming its
//! field, and what the end of a hold does with too few calls.

use std::fmt::Display;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{percent, points, Verdict};
use crate::plan::{format_seconds, parse_hold, MAX_HOLD_SECONDS};
use crate::validate::InvalidField;

/// The longest extension of one step: 2 days, as for holds.
pub const MAX_EXTENSION_SECONDS: u64 = MAX_HOLD_SECONDS;
const MAX_MIN_INVOCATIONS: u64 = 1_000_000;

/// The spec's `analysis` object; `{}` means every default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Analysis {
    pub min_invocations: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_error_rate: Option<f64>,
    pub max_error_rate_increase: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_latency_ratio: Option<f64>,
    pub confidence: f64,
    pub on_insufficient_data: OnInsufficientData,
    /// Accepts whole seconds or a duration like `"30m"`; written back as a duration.
    #[serde(
        rename = "maxExtension",
        deserialize_with = "seconds_or_duration",
        serialize_with = "as_duration"
    )]
    pub max_extension_seconds: u64,
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis {
            min_invocations: 50,
            max_error_rate: None,
            max_error_rate_increase: 0.01,
            max_latency_ratio: None,
            confidence: 0.95,
            on_insufficient_data: OnInsufficientData::Extend,
            max_extension_seconds: 1800,
        }
    }
}

/// What the end of a step's hold does with too few calls of the target version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnInsufficientData {
    Extend,
    Fail,
    Pass,
}

/// One `analysis` field: its path in errors and what it accepts (one place for both).
struct Field {
    path: &'static str,
    accepts: &'static str,
}

const MIN_INVOCATIONS: Field = Field {
    path: "analysis.minInvocations",
    accepts: "a whole number from 1 to 1000000",
};
const MAX_ERROR_RATE: Field = Field {
    path: "analysis.maxErrorRate",
    accepts: "a rate from 0 to 1, like 0.05",
};
const MAX_ERROR_RATE_INCREASE: Field = Field {
    path: "analysis.maxErrorRateIncrease",
    accepts: "a rate from 0 up to (not including) 1, like 0.01",
};
const MAX_LATENCY_RATIO: Field = Field {
    path: "analysis.maxLatencyRatio",
    accepts: "a ratio above 1, like 1.5",
};
const CONFIDENCE: Field = Field {
    path: "analysis.confidence",
    accepts: "a number strictly between 0.5 and 1, like 0.95",
};
const ON_INSUFFICIENT_DATA: Field = Field {
    path: "analysis.onInsufficientData",
    accepts: "one of \"extend\", \"fail\", \"pass\"",
};
const MAX_EXTENSION: Field = Field {
    path: "analysis.maxExtension",
    accepts: "a duration up to 2 days like \"30m\", \"90s\", \"1h\", or whole seconds",
};
const FIELDS: [Field; 7] = [
    MIN_INVOCATIONS,
    MAX_ERROR_RATE,
    MAX_ERROR_RATE_INCREASE,
    MAX_LATENCY_RATIO,
    CONFIDENCE,
    ON_INSUFFICIENT_DATA,
    MAX_EXTENSION,
];

impl Field {
    fn name(&self) -> &'static str {
        self.path.trim_start_matches("analysis.")
    }

    fn check(&self, ok: bool, got: impl Display) -> Result<(), InvalidField> {
        match ok {
            true => Ok(()),
            false => Err(InvalidField::new(
                self.path,
                format!("must be {}, not {got}", self.accepts),
            )),
        }
    }
}

impl Analysis {
    /// Reads and validates an `analysis` object; every error names its field.
    pub fn from_json(value: &Value) -> Result<Analysis, InvalidField> {
        let Some(object) = value.as_object() else {
            return Err(InvalidField::new(
                "analysis",
                format!("must be a JSON object like {{\"minInvocations\": 50}}, not {value}"),
            ));
        };
        // Each field alone first, so a type error is pinned on its field.
        for (key, field_value) in object {
            let alone = Value::Object([(key.clone(), field_value.clone())].into_iter().collect());
            if let Err(e) = serde_json::from_value::<Analysis>(alone) {
                return Err(match FIELDS.iter().find(|f| f.name() == key) {
                    Some(f) => InvalidField::new(f.path, format!("must be {} ({e})", f.accepts)),
                    None => InvalidField::new("analysis", e.to_string()),
                });
            }
        }
        let analysis: Analysis = serde_json::from_value(value.clone())
            .map_err(|e| InvalidField::new("analysis", e.to_string()))?;
        analysis.validate()?;
        Ok(analysis)
    }

    pub fn validate(&self) -> Result<(), InvalidField> {
        let n = self.min_invocations;
        MIN_INVOCATIONS.check((1..=MAX_MIN_INVOCATIONS).contains(&n), n)?;
        if let Some(rate) = self.max_error_rate {
            MAX_ERROR_RATE.check((0.0..=1.0).contains(&rate), rate)?;
        }
        let margin = self.max_error_rate_increase;
        MAX_ERROR_RATE_INCREASE.check((0.0..1.0).contains(&margin), margin)?;
        if let Some(ratio) = self.max_latency_ratio {
            // 1.0 would fail about half of identical versions: two p99s are never equal.
            MAX_LATENCY_RATIO.check(ratio > 1.0 && ratio.is_finite(), ratio)?;
        }
        let c = self.confidence;
        CONFIDENCE.check(c > 0.5 && c < 1.0, c)?;
        let s = self.max_extension_seconds;
        MAX_EXTENSION.check(s <= MAX_EXTENSION_SECONDS, format!("{s} seconds"))
    }

    /// One line for `rollout plan`: what each step will be judged on.
    pub fn describe(&self) -> String {
        let mut rate = String::from("error rate ≤ ");
        if let Some(ceiling) = self.max_error_rate {
            rate += &format!("{} and ≤ ", percent(ceiling));
        }
        rate += &format!(
            "old + {} points at {}",
            points(self.max_error_rate_increase),
            percent(self.confidence)
        );
        let mut parts = vec![
            format!(
                "judged: ≥{} calls of the new version per step",
                self.min_invocations
            ),
            rate,
        ];
        if let Some(ratio) = self.max_latency_ratio {
            parts.push(format!("p99 ≤ {ratio}× old"));
        }
        parts.push(match self.on_insufficient_data {
            OnInsufficientData::Extend => format!(
                "too few calls: extend up to {}, then fail",
                duration(self.max_extension_seconds)
            ),
            OnInsufficientData::Fail => "too few calls: fail".into(),
            OnInsufficientData::Pass => "too few calls: pass untested".into(),
        });
        parts.join("; ")
    }

    /// What to do at, or `seconds_past_hold` after, the end of a step's hold.
    pub fn at_hold_end(&self, verdict: Verdict, seconds_past_hold: u64) -> HoldEnd {
        match (verdict, self.on_insufficient_data) {
            (Verdict::Pass, _) | (Verdict::Insufficient, OnInsufficientData::Pass) => {
                HoldEnd::Advance
            }
            (Verdict::Fail, _) => HoldEnd::RollBack {
                why: "the judgement failed".into(),
            },
            (Verdict::Insufficient, OnInsufficientData::Fail) => HoldEnd::RollBack {
                why: "too few calls of the new version by the end of the hold".into(),
            },
            (Verdict::Insufficient, OnInsufficientData::Extend) => {
                match self.max_extension_seconds.checked_sub(seconds_past_hold) {
                    Some(left) if left > 0 => HoldEnd::Extend { seconds_left: left },
                    _ => HoldEnd::RollBack {
                        why: format!(
                            "too few calls of the new version after extending the hold by {}",
                            duration(self.max_extension_seconds)
                        ),
                    },
                }
            }
        }
    }

    /// The error probability of each one-sided test; never NaN, even unvalidated.
    pub(super) fn alpha(&self) -> f64 {
        let alpha = 1.0 - self.confidence;
        if alpha > 0.0 && alpha <= 0.5 {
            alpha
        } else {
            0.05
        }
    }
}

/// What a driver does at the end of a step's hold, given the last verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldEnd {
    Advance,
    /// Keep holding and judging, at most `seconds_left` more.
    Extend {
        seconds_left: u64,
    },
    RollBack {
        why: String,
    },
}

fn seconds_or_duration<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    use serde::de::Error;
    match Value::deserialize(d)? {
        Value::Number(n) if n.is_u64() => Ok(n.as_u64().unwrap_or(u64::MAX)),
        // The same durations a hold takes, read by the same rule.
        Value::String(s) => parse_hold(&s).map_err(|why| D::Error::custom(format!("{s:?} {why}"))),
        other => Err(D::Error::custom(format!("{other} is not a duration"))),
    }
}

fn as_duration<S: Serializer>(seconds: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&duration(*seconds))
}

/// `1800` → `30m`, `90` → `1m 30s`; reads back the same through `seconds_or_duration`.
fn duration(seconds: u64) -> String {
    format_seconds(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// The example of DESIGN.md's "Canary judgement".
    fn design_example() -> Value {
        json!({"minInvocations": 50, "maxErrorRate": 0.05, "maxErrorRateIncrease": 0.01,
               "maxLatencyRatio": 1.5, "confidence": 0.95, "onInsufficientData": "extend",
               "maxExtension": "30m"})
    }

    fn design() -> Analysis {
        Analysis::from_json(&design_example()).unwrap()
    }

    #[test]
    fn an_empty_analysis_takes_every_default() {
        let a = Analysis::from_json(&json!({})).unwrap();
        assert_eq!(
            (
                a.min_invocations,
                a.max_error_rate,
                a.max_error_rate_increase
            ),
            (50, None, 0.01)
        );
        assert_eq!((a.max_latency_ratio, a.confidence), (None, 0.95));
        assert_eq!(
            (a.on_insufficient_data, a.max_extension_seconds),
            (OnInsufficientData::Extend, 1800)
        );
    }

    #[test]
    fn the_design_example_writes_back_as_it_was_read() {
        assert_eq!(serde_json::to_value(design()).unwrap(), design_example());
    }

    #[test]
    fn max_extension_takes_whole_seconds_or_a_duration() {
        for (given, seconds) in [
            (json!(90), 90),
            (json!("90s"), 90),
            (json!("1h"), 3600),
            (json!("1h30m"), 5400),
            (json!("0s"), 0),
        ] {
            let a = Analysis::from_json(&json!({ "maxExtension": given })).unwrap();
            assert_eq!(a.max_extension_seconds, seconds, "{given}");
        }
    }

    #[test]
    fn bad_input_is_refused_naming_the_field() {
        let cases = [
            (json!({"minInvocations": -5}), "analysis.minInvocations"),
            (json!({"minInvocations": 0}), "analysis.minInvocations"),
            (
                json!({"minInvocations": 1_000_001}),
                "analysis.minInvocations",
            ),
            (json!({"minInvocations": "50"}), "analysis.minInvocations"),
            (json!({"maxErrorRate": 1.5}), "analysis.maxErrorRate"),
            (json!({"maxErrorRate": -0.1}), "analysis.maxErrorRate"),
            (
                json!({"maxErrorRateIncrease": 1.0}),
                "analysis.maxErrorRateIncrease",
            ),
            (
                json!({"maxErrorRateIncrease": -0.01}),
                "analysis.maxErrorRateIncrease",
            ),
            (json!({"maxLatencyRatio": 1.0}), "analysis.maxLatencyRatio"),
            (json!({"confidence": 1.5}), "analysis.confidence"),
            (json!({"confidence": 0.5}), "analysis.confidence"),
            (json!({"confidence": 1}), "analysis.confidence"),
            (
                json!({"onInsufficientData": "retry"}),
                "analysis.onInsufficientData",
            ),
            (json!({"maxExtension": "3d"}), "analysis.maxExtension"),
            (json!({"maxExtension": 172_801}), "analysis.maxExtension"),
            (json!({"maxExtension": "0"}), "analysis.maxExtension"),
            (json!({"maxExtension": -1}), "analysis.maxExtension"),
            (json!({"maxExtension": "soon"}), "analysis.maxExtension"),
            (json!({"confidance": 0.9}), "analysis"),
            (json!([50]), "analysis"),
        ];
        for (given, field) in cases {
            let e = Analysis::from_json(&given).expect_err(&given.to_string());
            assert_eq!(e.field, field, "{given}: {e}");
        }
        let e = Analysis::from_json(&json!({"confidence": 1.5})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "analysis.confidence: must be a number strictly between 0.5 and 1, like 0.95, not 1.5"
        );
        let e = Analysis::from_json(&json!({"confidance": 0.9})).unwrap_err();
        assert!(
            e.problem.contains("`confidance`") && e.problem.contains("`confidence`"),
            "{e}"
        );
    }

    #[test]
    fn the_field_table_lists_what_serde_reads() {
        let listed: Vec<&str> = FIELDS.iter().map(Field::name).collect();
        assert_eq!(listed, crate::fields::of::<Analysis>());
    }

    #[test]
    fn describe_says_what_will_be_judged() {
        assert_eq!(
        design().describe(),
        "judged: ≥50 calls of the new version per step; error rate ≤ 5% and ≤ old + 1.0 points \
         at 95%; p99 ≤ 1.5× old; too few calls: extend up to 30m, then fail"
    );
        let other = Analysis {
            on_insufficient_data: OnInsufficientData::Fail,
            confidence: 0.99,
            ..Analysis::default()
        };
        assert_eq!(
            other.describe(),
            "judged: ≥50 calls of the new version per step; error rate ≤ old + 1.0 points at 99%; \
         too few calls: fail"
        );
    }

    #[test]
    fn the_end_of_a_hold_extends_then_rolls_back() {
        let a = Analysis::default();
        assert_eq!(
            a.at_hold_end(Verdict::Insufficient, 0),
            HoldEnd::Extend { seconds_left: 1800 }
        );
        assert_eq!(
            a.at_hold_end(Verdict::Insufficient, 1799),
            HoldEnd::Extend { seconds_left: 1 }
        );
        assert!(matches!(
            a.at_hold_end(Verdict::Insufficient, 1800),
            HoldEnd::RollBack { .. }
        ));
        assert_eq!(a.at_hold_end(Verdict::Pass, 5000), HoldEnd::Advance);
        assert!(matches!(
            a.at_hold_end(Verdict::Fail, 0),
            HoldEnd::RollBack { .. }
        ));
        let fail = Analysis {
            on_insufficient_data: OnInsufficientData::Fail,
            ..a.clone()
        };
        assert!(matches!(
            fail.at_hold_end(Verdict::Insufficient, 0),
            HoldEnd::RollBack { .. }
        ));
        let pass = Analysis {
            on_insufficient_data: OnInsufficientData::Pass,
            ..a
        };
        assert_eq!(pass.at_hold_end(Verdict::Insufficient, 0), HoldEnd::Advance);
    }

    proptest! {
        #[test]
        fn max_extension_reads_back_what_it_writes(seconds in 0..=MAX_EXTENSION_SECONDS) {
            let a = Analysis { max_extension_seconds: seconds, ..Analysis::default() };
            let written = serde_json::to_value(&a).unwrap();
            prop_assert_eq!(Analysis::from_json(&written).unwrap(), a);
        }
    }
}
