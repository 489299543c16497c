//! The scheduled judge, for aliases whose traffic CodeDeploy shifts (a SAM
//! `DeploymentPreference`): CodeDeploy reads only alarms, so once a minute this judges each
//! guarded alias that is split, its additional version (the target) against its main version
//! (the current) over the last `WINDOW`, with the same judgement as a rollout's `analysis`,
//! and publishes `LambdaRollout/CanaryVerdict` (1 fail, 0 otherwise) in one PutMetricData for
//! every alias. An alarm on it goes in `DeploymentPreference.Alarms`.
//!
//! Only a fail is 1. Too few calls are 0: the judge cannot tell where CodeDeploy is in its
//! hold, so a canary that has not had its `minInvocations` yet is not held against it; the
//! alias's own alarms still watch those calls. What could not be seen (the alias, or its
//! metrics) gets no point at all, never a 0 that would claim "not failing", and fails the
//! run: the alarm's `TreatMissingData` decides, and the judge's `Errors` show it is blind.

use chrono::{DateTime, Utc};
use rollout_core::judgement::judge;
use rollout_core::plan::{format_seconds, parse_hold};
use rollout_core::settings::{self, Lookup};
use rollout_core::validate::{check_alias, check_function_name, short_function_name};
use rollout_core::{Analysis, InvalidField, Verdict};
use serde::Serialize;

use crate::failure::Failure;
use crate::ports::{AliasStore, Datapoint, MetricsQuery, MetricsSink, MetricsSource, OwnMetric};

/// The shortest window: one period of Lambda's metrics.
const MIN_WINDOW_SECONDS: u64 = 60;
/// The longest: CloudWatch keeps one-minute data for 15 days, a canary lasts hours at most.
const MAX_WINDOW_SECONDS: u64 = 86_400;
const DEFAULT_WINDOW_SECONDS: u64 = 600;

/// The judge's settings, read once at cold start; a bad value fails it.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeSettings {
    /// `JUDGED_ALIASES=orders:live,payments:live`: the (function, alias) pairs judged.
    pub aliases: Vec<(String, String)>,
    /// `ANALYSIS`: the canary judgement's object, as a spec's `analysis` (unset: `{}`).
    pub analysis: Analysis,
    /// `WINDOW` (`10m`, `90s`, `1h`): how far back each run looks; 10 minutes by default.
    pub window_seconds: u64,
}

impl JudgeSettings {
    pub fn from_env() -> Result<JudgeSettings, InvalidField> {
        Self::from_lookup(&crate::settings::env)
    }

    pub fn from_lookup(get: &impl Lookup) -> Result<JudgeSettings, InvalidField> {
        let aliases = settings::list(get, "JUDGED_ALIASES")
            .iter()
            .map(|pair| judged_alias(pair))
            .collect::<Result<Vec<_>, _>>()?;
        if aliases.is_empty() {
            return Err(InvalidField::new(
                "JUDGED_ALIASES",
                "must name at least one alias as FUNCTION:ALIAS, comma separated (e.g. orders:live,payments:live)",
            ));
        }
        let analysis = match settings::json(get, "ANALYSIS")? {
            Some(value) => Analysis::from_json(&value)
                .map_err(|e| InvalidField::new("ANALYSIS", e.to_string()))?,
            None => Analysis::default(),
        };
        let window_seconds = match get("WINDOW") {
            None => DEFAULT_WINDOW_SECONDS,
            Some(raw) => parse_hold(raw.trim())
                .ok()
                .filter(|s| (MIN_WINDOW_SECONDS..=MAX_WINDOW_SECONDS).contains(s))
                .ok_or_else(|| {
                    InvalidField::new(
                        "WINDOW",
                        format!(
                            "{raw:?} must be a duration from {} to {} (e.g. 10m)",
                            format_seconds(MIN_WINDOW_SECONDS),
                            format_seconds(MAX_WINDOW_SECONDS)
                        ),
                    )
                })?,
        };
        Ok(JudgeSettings {
            aliases,
            analysis,
            window_seconds,
        })
    }
}

/// `orders:live` (or a function ARN, then `:live`) as (function, alias), each checked.
fn judged_alias(pair: &str) -> Result<(String, String), InvalidField> {
    let invalid = |why: String| InvalidField::new("JUDGED_ALIASES", why);
    let (function, alias) = pair
        .rsplit_once(':')
        .ok_or_else(|| invalid(format!("{pair:?} must be FUNCTION:ALIAS")))?;
    check_function_name(function).map_err(|e| invalid(format!("{pair:?}: {}", e.problem)))?;
    check_alias(alias).map_err(|e| invalid(format!("{pair:?}: {}", e.problem)))?;
    Ok((function.to_string(), alias.to_string()))
}

/// What one run found for one alias.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasVerdict {
    pub function_name: String,
    pub alias: String,
    /// `fail`, `pass`, `insufficient`, `notSplit`, or `unreadable` (no point published).
    pub verdict: &'static str,
    /// The `CanaryVerdict` published; `None` when the alias or its metrics could not be read.
    pub value: Option<f64>,
    pub reason: String,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JudgeReport {
    pub verdicts: Vec<AliasVerdict>,
}

/// The judge's ports.
pub struct Judge<'a> {
    pub aliases: &'a dyn AliasStore,
    pub metrics: &'a dyn MetricsSource,
    pub own_metrics: &'a dyn MetricsSink,
}

impl Judge<'_> {
    /// One run: judges every alias, then publishes every verdict in one call. An alias, or
    /// its metrics, that cannot be read, or a publish that fails, fails the invocation (after
    /// the others are published): Lambda's own error metric shows a judge that cannot see.
    pub async fn run(
        &self,
        settings: &JudgeSettings,
        now: DateTime<Utc>,
    ) -> Result<JudgeReport, Failure> {
        let start = now - chrono::Duration::seconds(settings.window_seconds as i64);
        let mut verdicts = Vec::new();
        for (function, alias) in &settings.aliases {
            verdicts.push(
                self.judge_alias(settings, function, alias, start, now)
                    .await,
            );
        }
        let points: Vec<Datapoint> = verdicts
            .iter()
            .filter_map(|v| {
                Some(Datapoint {
                    metric: OwnMetric::CanaryVerdict,
                    function: short_function_name(&v.function_name).into(),
                    alias: v.alias.clone(),
                    value: v.value?,
                    at: now,
                })
            })
            .collect();
        for v in &verdicts {
            tracing::info!(function = %v.function_name, alias = %v.alias, verdict = v.verdict, reason = %v.reason, "canary verdict");
        }
        self.own_metrics
            .put(&points)
            .await
            .map_err(|e| Failure::new("AwsError", e.to_string()))?;
        if let Some(v) = verdicts.iter().find(|v| v.value.is_none()) {
            return Err(Failure::new(
                "AwsError",
                format!("{}:{}: {}", v.function_name, v.alias, v.reason),
            ));
        }
        Ok(JudgeReport { verdicts })
    }

    async fn judge_alias(
        &self,
        settings: &JudgeSettings,
        function: &str,
        alias: &str,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> AliasVerdict {
        let verdict = |verdict, value, reason: String| AliasVerdict {
            function_name: function.into(),
            alias: alias.into(),
            verdict,
            value,
            reason,
        };
        let state = match self.aliases.get(function, alias).await {
            Ok(state) => state,
            Err(e) => {
                return verdict(
                    "unreadable",
                    None,
                    format!("the alias could not be read: {e}"),
                )
            }
        };
        let Some((target, _)) = &state.routing else {
            return verdict(
                "notSplit",
                Some(0.0),
                format!("all traffic on version {}", state.version),
            );
        };
        let query = MetricsQuery {
            function: short_function_name(function).into(),
            alias: alias.into(),
            target: target.clone(),
            current: state.version.clone(),
            start,
            end: now,
        };
        let (target, current) = match self.metrics.versions(&query).await {
            Ok(read) => read,
            Err(e) => {
                return verdict(
                    "unreadable",
                    None,
                    format!("the metrics could not be read: {e}"),
                )
            }
        };
        let (found, reason) = judge(&settings.analysis, &target, &current);
        match found {
            Verdict::Fail => verdict("fail", Some(1.0), reason),
            Verdict::Pass => verdict("pass", Some(0.0), reason),
            Verdict::Insufficient => verdict("insufficient", Some(0.0), reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{t, FakeAliases, FakeMetrics, FakeOwnMetrics};

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Lookup {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn reads_its_settings_and_names_the_variable_at_fault() {
        let settings = JudgeSettings::from_lookup(&vars(&[
            (
                "JUDGED_ALIASES",
                "orders:live, arn:aws:lambda:us-east-1:123456789012:function:pay:prod",
            ),
            ("ANALYSIS", r#"{"minInvocations": 10}"#),
            ("WINDOW", "5m"),
        ]))
        .unwrap();
        assert_eq!(
            settings.aliases,
            [
                ("orders".to_string(), "live".to_string()),
                (
                    "arn:aws:lambda:us-east-1:123456789012:function:pay".to_string(),
                    "prod".to_string()
                )
            ]
        );
        assert_eq!(settings.analysis.min_invocations, 10);
        assert_eq!(settings.window_seconds, 300);
        for (bad, field) in [
            (&[][..], "JUDGED_ALIASES"),
            (&[("JUDGED_ALIASES", "orders")][..], "JUDGED_ALIASES"),
            (&[("JUDGED_ALIASES", "orders:")][..], "JUDGED_ALIASES"),
            (
                &[("JUDGED_ALIASES", "o:live"), ("ANALYSIS", "{")][..],
                "ANALYSIS",
            ),
            (
                &[
                    ("JUDGED_ALIASES", "o:live"),
                    ("ANALYSIS", r#"{"confidence": 2}"#),
                ][..],
                "ANALYSIS",
            ),
            (
                &[("JUDGED_ALIASES", "o:live"), ("WINDOW", "10s")][..],
                "WINDOW",
            ),
        ] {
            let get = move |name: &str| {
                bad.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            };
            assert_eq!(JudgeSettings::from_lookup(&get).unwrap_err().field, field);
        }
    }

    async fn run_on(
        routing: Option<(&str, f64)>,
        metrics: FakeMetrics,
    ) -> (Result<JudgeReport, Failure>, Vec<f64>) {
        run_aliases("orders:live", FakeAliases::on("1"), routing, metrics).await
    }

    /// One run over `judged`; every alias answers as `aliases` does (its read faults in turn).
    async fn run_aliases(
        judged: &'static str,
        aliases: FakeAliases,
        routing: Option<(&str, f64)>,
        metrics: FakeMetrics,
    ) -> (Result<JudgeReport, Failure>, Vec<f64>) {
        aliases.alias.lock().unwrap().routing = routing.map(|(v, w)| (v.to_string(), w));
        let own = FakeOwnMetrics::default();
        let settings = JudgeSettings::from_lookup(&|name: &str| match name {
            "JUDGED_ALIASES" => Some(judged.to_string()),
            "ANALYSIS" => Some(r#"{"minInvocations": 50}"#.to_string()),
            _ => None,
        })
        .unwrap();
        let judge = Judge {
            aliases: &aliases,
            metrics: &metrics,
            own_metrics: &own,
        };
        let report = judge.run(&settings, t(0)).await;
        assert_eq!(*own.calls.lock().unwrap(), 1, "one PutMetricData a run");
        (report, own.values())
    }

    #[tokio::test]
    async fn a_bad_canary_is_1_a_good_one_0_too_few_calls_0_no_split_0() {
        let bad = FakeMetrics::counting((100, 30, None), (900, 9, None));
        let (report, values) = run_on(Some(("2", 0.1)), bad).await;
        assert_eq!(values, [1.0]);
        assert_eq!(report.unwrap().verdicts[0].verdict, "fail");
        let good = FakeMetrics::counting((100, 1, None), (900, 9, None));
        assert_eq!(run_on(Some(("2", 0.1)), good).await.1, [0.0]);
        let few = FakeMetrics::counting((3, 1, None), (900, 9, None));
        let (report, values) = run_on(Some(("2", 0.1)), few).await;
        assert_eq!(
            (report.unwrap().verdicts[0].verdict, values),
            ("insufficient", vec![0.0])
        );
        let unsplit = FakeMetrics::counting((100, 30, None), (900, 9, None));
        let (report, values) = run_on(None, unsplit).await;
        assert_eq!(
            (report.unwrap().verdicts[0].verdict, values),
            ("notSplit", vec![0.0])
        );
    }

    /// Metrics that cannot be read are no verdict: no 0 that reads as "not failing" (nor a
    /// 1), and the run fails naming the alias; an alias that cannot be read among several
    /// costs only its own point.
    #[tokio::test]
    async fn what_the_judge_cannot_see_gets_no_point_and_fails_the_run() {
        let bad = FakeMetrics::counting((100, 30, None), (900, 9, None));
        for transient in [true, false] {
            let blind = FakeMetrics::counting((100, 30, None), (900, 9, None));
            blind.fail(transient);
            let (report, values) = run_on(Some(("2", 0.1)), blind).await;
            let failed = report.unwrap_err();
            assert_eq!(failed.error_type, "AwsError");
            assert!(
                failed
                    .message
                    .contains("orders:live: the metrics could not be read"),
                "{}",
                failed.message
            );
            assert!(values.is_empty(), "no point at all, not {values:?}");
        }
        let aliases = FakeAliases::on("1");
        aliases
            .read_faults
            .lock()
            .unwrap()
            .push(crate::testing::Fault::Throttle);
        let (report, values) =
            run_aliases("payments:live,orders:live", aliases, Some(("2", 0.1)), bad).await;
        assert_eq!(values, [1.0], "the readable alias's fail still goes out");
        let failed = report.unwrap_err();
        assert!(
            failed
                .message
                .starts_with("payments:live: the alias could not be read"),
            "{}",
            failed.message
        );
    }
}
