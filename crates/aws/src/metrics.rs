//! The analysis provider's metrics: what Lambda publishes per executed version for calls
//! through an alias (`AWS/Lambda`, dimensions `FunctionName`, `Resource` = `name:alias`,
//! `ExecutedVersion`), read for both versions in one `GetMetricData` call. No metric math
//! (the emulator lacks it): the sums and the p99 are combined here.
//!
//! Also lambda-rollout's own metrics (`LambdaRollout`: `TrafficWeight`, `CanaryVerdict`),
//! written with `PutMetricData`, several points in one call, where no log line can carry them:
//! the CLI, and the scheduled judge (inside Lambda the drivers use [`crate::emf`]). The IAM
//! policy allows PutMetricData only in that namespace.
//!
//! And the report's timeline: both namespaces' series over a window, in one paginated read.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat};
use aws_sdk_cloudwatch::Client;

use rollout_core::dashboard::{CANARY_VERDICT, ROLLOUT_NAMESPACE, TRAFFIC_WEIGHT};
use rollout_core::report::{Point, VersionSeries};
use rollout_core::VersionMetrics;
use rollout_usecases::ports::{
    CallFailed, Datapoint, MetricsQuery, MetricsSink, MetricsSource, Timeline, Timelines,
};

const NAMESPACE: &str = "AWS/Lambda";
const PERIOD_SECONDS: i32 = 60;
/// How far past the judge's clock a datapoint may be stamped and still count.
const CLOCK_SKEW_SECONDS: i64 = 5 * 60;
/// Query ids: a version's role (`t` target, `c` current) and the metric.
const SERIES: [(&str, &str); 3] = [
    ("inv", "Invocations"),
    ("err", "Errors"),
    ("p99", "Duration"),
];

pub struct CloudWatchMetrics {
    client: Client,
}

impl CloudWatchMetrics {
    pub fn new(client: Client) -> Self {
        CloudWatchMetrics { client }
    }

    /// For a function that needs only metrics, not every adapter.
    pub fn from_config(sdk: &aws_config::SdkConfig) -> Self {
        CloudWatchMetrics::new(Client::new(sdk))
    }

    /// Every result of `queries` between `start` and `end` (seconds since the epoch), all
    /// pages of one paginated GetMetricData; an answer that is not whole is an error (see
    /// [`whole`]).
    async fn results(
        &self,
        queries: Vec<MetricDataQuery>,
        start: i64,
        end: i64,
    ) -> Result<Vec<MetricDataResult>, CallFailed> {
        // Queries that only feed an expression (ReturnData false) get no result of their own.
        let ids: Vec<String> = queries
            .iter()
            .filter(|q| q.return_data() != Some(false))
            .filter_map(|q| q.id().map(String::from))
            .collect();
        let mut pages = self
            .client
            .get_metric_data()
            .start_time(DateTime::from_secs(start))
            .end_time(DateTime::from_secs(end))
            .set_metric_data_queries(Some(queries))
            .into_paginator()
            .send();
        let mut results = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| crate::call_failed("GetMetricData", &e))?;
            results.extend(page.metric_data_results().iter().cloned());
        }
        whole(&ids, &results)?;
        Ok(results)
    }
}

/// Checks that every query was answered `Complete` on the last page that carried it. A
/// result CloudWatch could not finish (`InternalError`, `Forbidden`, `PartialData` with its
/// rest missing) holds only part of the data, or none: an empty `Errors` series there is not
/// zero errors. Such an answer is unreadable, as a failed call is (too few calls, never a
/// pass); `InternalError` and `PartialData` may pass, so they are retried like a 5xx.
pub fn whole(ids: &[String], results: &[MetricDataResult]) -> Result<(), CallFailed> {
    use aws_sdk_cloudwatch::types::StatusCode;
    let mut last: HashMap<&str, Option<&StatusCode>> = HashMap::new();
    for result in results {
        if let Some(id) = result.id() {
            last.insert(id, result.status_code());
        }
    }
    let mut broken = Vec::new();
    let mut transient = true;
    for id in ids {
        match last.get(id.as_str()) {
            Some(Some(StatusCode::Complete)) => {}
            Some(Some(code)) => {
                transient &= matches!(code, StatusCode::InternalError | StatusCode::PartialData);
                let message = results
                    .iter()
                    .filter(|r| r.id() == Some(id.as_str()))
                    .flat_map(|r| r.messages())
                    .filter_map(|m| m.value())
                    .next_back()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                broken.push(format!("{id} {}{message}", code.as_str()));
            }
            Some(None) => broken.push(format!("{id} without a status")),
            None => broken.push(format!("{id} not answered")),
        }
    }
    if broken.is_empty() {
        return Ok(());
    }
    Err(CallFailed {
        operation: "GetMetricData",
        message: format!(
            "CloudWatch did not answer every query whole ({}); metrics that are not whole are never read as zero",
            broken.join(", ")
        ),
        transient,
    })
}

/// The six queries of one judgement: three metrics for each of the two versions.
pub fn queries(query: &MetricsQuery) -> Vec<MetricDataQuery> {
    let resource = format!("{}:{}", query.function, query.alias);
    let mut queries = Vec::new();
    for (role, version) in [("t", &query.target), ("c", &query.current)] {
        for (id, name) in SERIES {
            let dimensions = [
                ("FunctionName", query.function.as_str()),
                ("Resource", resource.as_str()),
                ("ExecutedVersion", version.as_str()),
            ]
            .map(|(n, v)| Dimension::builder().name(n).value(v).build());
            let metric = Metric::builder()
                .namespace(NAMESPACE)
                .metric_name(name)
                .set_dimensions(Some(dimensions.to_vec()))
                .build();
            let stat = match id {
                "p99" => "p99",
                _ => "Sum",
            };
            queries.push(
                MetricDataQuery::builder()
                    .id(format!("{role}_{id}"))
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period(PERIOD_SECONDS)
                            .stat(stat)
                            .build(),
                    )
                    .return_data(true)
                    .build(),
            );
        }
    }
    queries
}

/// One version's counts from the results: sums of the per-minute sums, and the p99 as the
/// mean of the per-minute p99s weighted by each minute's calls (CloudWatch cannot merge
/// percentiles across periods without the raw data; both versions are combined alike).
/// A value that no count or duration can have (NaN, infinite, negative) makes the read
/// unreadable: dropping it would count a broken `Errors` point as no errors.
pub fn tally(
    results: &[MetricDataResult],
    role: &str,
    version: &str,
) -> Result<VersionMetrics, CallFailed> {
    let series = |id: &str| -> Result<Vec<(i64, f64)>, CallFailed> {
        let id = format!("{role}_{id}");
        let points: Vec<(i64, f64)> = results
            .iter()
            .filter(|r| r.id() == Some(id.as_str()))
            .flat_map(|r| {
                r.timestamps()
                    .iter()
                    .map(DateTime::secs)
                    .zip(r.values().iter().copied())
            })
            .collect();
        match points.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
            Some((at, v)) => Err(CallFailed {
                operation: "GetMetricData",
                message: format!(
                    "CloudWatch answered {v} for {id} (version {version}) at {}; a count or a duration cannot be that, so these metrics are not read",
                    chrono::DateTime::from_timestamp(*at, 0).unwrap_or_default()
                ),
                transient: false,
            }),
            None => Ok(points),
        }
    };
    let sum = |id: &str| -> Result<u64, CallFailed> {
        Ok(series(id)?.iter().map(|(_, v)| v).sum::<f64>().round() as u64)
    };
    let calls: HashMap<i64, f64> = series("inv")?.into_iter().collect();
    let (mut weighted, mut weights) = (0.0, 0.0);
    for (at, p99) in series("p99")? {
        let w = calls.get(&at).copied().filter(|w| *w > 0.0).unwrap_or(1.0);
        weighted += p99 * w;
        weights += w;
    }
    Ok(VersionMetrics {
        version: version.into(),
        invocations: sum("inv")?,
        errors: sum("err")?,
        p99_ms: (weights > 0.0).then(|| weighted / weights),
    })
}

/// How far back CloudWatch answers with periods under a minute.
const FINE_PERIODS_FOR_HOURS: i64 = 3;

#[async_trait]
impl Timelines for CloudWatchMetrics {
    /// The report's series for `function:alias` and `versions` in one paginated
    /// GetMetricData. The weight is read per second while CloudWatch allows it (windows that
    /// start under 3 hours ago), so steps seconds apart stay apart; per minute otherwise.
    async fn timeline(
        &self,
        function: &str,
        alias: &str,
        versions: &[String],
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
    ) -> Result<Timeline, CallFailed> {
        let fine = chrono::Utc::now() - start < chrono::Duration::hours(FINE_PERIODS_FOR_HOURS);
        let weight_period = if fine { 1 } else { PERIOD_SECONDS };
        let rollout = |id: &str, name: &str| {
            let dimensions = [("FunctionName", function), ("Alias", alias)];
            query(
                id,
                ROLLOUT_NAMESPACE,
                name,
                &dimensions,
                weight_period,
                "Maximum",
            )
        };
        let mut queries = vec![
            rollout("weight", TRAFFIC_WEIGHT),
            rollout("verdict", CANARY_VERDICT),
        ];
        let resource = format!("{function}:{alias}");
        for (i, version) in versions.iter().enumerate() {
            let dimensions = [
                ("FunctionName", function),
                ("Resource", resource.as_str()),
                ("ExecutedVersion", version.as_str()),
            ];
            for (id, name) in SERIES {
                let stat = if id == "p99" { "p99" } else { "Sum" };
                queries.push(query(
                    &format!("v{i}_{id}"),
                    NAMESPACE,
                    name,
                    &dimensions,
                    PERIOD_SECONDS,
                    stat,
                ));
            }
        }
        let results = self
            .results(queries, start.timestamp(), end.timestamp() + 1)
            .await?;
        let points = |id: &str| -> Vec<Point> {
            let mut points: Vec<Point> = results
                .iter()
                .filter(|r| r.id() == Some(id))
                .flat_map(|r| r.timestamps().iter().zip(r.values().iter().copied()))
                .filter(|(_, v)| v.is_finite())
                .filter_map(|(at, value)| {
                    let at = chrono::DateTime::from_timestamp(at.secs(), at.subsec_nanos())?;
                    Some(Point { at, value })
                })
                .collect();
            points.sort_by_key(|p| p.at);
            points
        };
        Ok(Timeline {
            weight: points("weight"),
            verdict: points("verdict"),
            versions: versions
                .iter()
                .enumerate()
                .map(|(i, version)| VersionSeries {
                    version: version.clone(),
                    invocations: points(&format!("v{i}_inv")),
                    errors: points(&format!("v{i}_err")),
                    p99_ms: points(&format!("v{i}_p99")),
                })
                .collect(),
        })
    }
}

/// One metric's statistic as a GetMetricData query.
fn query(
    id: &str,
    namespace: &str,
    name: &str,
    dimensions: &[(&str, &str)],
    period: i32,
    stat: &str,
) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(namespace)
        .metric_name(name)
        .set_dimensions(Some(
            dimensions
                .iter()
                .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
                .collect(),
        ))
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period)
                .stat(stat)
                .build(),
        )
        .return_data(true)
        .build()
}

#[async_trait]
impl MetricsSource for CloudWatchMetrics {
    async fn versions(
        &self,
        query: &MetricsQuery,
    ) -> Result<(VersionMetrics, VersionMetrics), CallFailed> {
        // Whole minutes, so the first minute of the step is counted (it is the target's own),
        // and a few past now: a point stamped by a clock a little ahead of ours is the
        // window's too, not a call that silently does not count.
        let start = query.start.timestamp() / 60 * 60;
        let end = (query.end.timestamp() / 60 + 1) * 60 + CLOCK_SKEW_SECONDS;
        let results = self.results(queries(query), start, end).await?;
        Ok((
            tally(&results, "t", &query.target)?,
            tally(&results, "c", &query.current)?,
        ))
    }
}

/// One of lambda-rollout's datapoints as CloudWatch takes it: high resolution (1 s), so that
/// steps held for seconds stay apart on a graph.
fn metric_datum(point: &Datapoint) -> aws_sdk_cloudwatch::types::MetricDatum {
    use aws_sdk_cloudwatch::types::{MetricDatum, StandardUnit};
    MetricDatum::builder()
        .metric_name(point.metric.name())
        .dimensions(
            Dimension::builder()
                .name("FunctionName")
                .value(&point.function)
                .build(),
        )
        .dimensions(
            Dimension::builder()
                .name("Alias")
                .value(&point.alias)
                .build(),
        )
        .value(point.value)
        .unit(StandardUnit::from(point.metric.unit()))
        .storage_resolution(1)
        .timestamp(DateTime::from_millis(point.at.timestamp_millis()))
        .build()
}

#[async_trait]
impl MetricsSink for CloudWatchMetrics {
    async fn put(&self, points: &[Datapoint]) -> Result<(), CallFailed> {
        if points.is_empty() {
            return Ok(());
        }
        self.client
            .put_metric_data()
            .namespace(ROLLOUT_NAMESPACE)
            .set_metric_data(Some(points.iter().map(metric_datum).collect()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::call_failed("PutMetricData", &e))
    }

    fn costs_a_call(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::StatusCode;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn result(id: &str, points: &[(i64, f64)]) -> MetricDataResult {
        MetricDataResult::builder()
            .id(id)
            .set_timestamps(Some(
                points
                    .iter()
                    .map(|(t, _)| DateTime::from_secs(*t))
                    .collect(),
            ))
            .set_values(Some(points.iter().map(|(_, v)| *v).collect()))
            .build()
    }

    #[test]
    fn sums_each_versions_minutes_and_weights_its_p99_by_calls() {
        let results = [
            result("t_inv", &[(0, 100.0), (60, 300.0)]),
            result("t_err", &[(0, 2.0), (60, 3.0)]),
            result("t_p99", &[(0, 100.0), (60, 200.0)]),
            result("c_inv", &[(0, 900.0)]),
            result("c_err", &[]),
        ];
        let t = tally(&results, "t", "3").unwrap();
        assert_eq!((t.version.as_str(), t.invocations, t.errors), ("3", 400, 5));
        assert_eq!(t.p99_ms, Some(175.0));
        let c = tally(&results, "c", "2").unwrap();
        assert_eq!((c.invocations, c.errors, c.p99_ms), (900, 0, None));
    }

    fn answered(id: &str, status: StatusCode, points: &[(i64, f64)]) -> MetricDataResult {
        MetricDataResult::builder()
            .id(id)
            .status_code(status)
            .set_timestamps(Some(
                points
                    .iter()
                    .map(|(t, _)| DateTime::from_secs(*t))
                    .collect(),
            ))
            .set_values(Some(points.iter().map(|(_, v)| *v).collect()))
            .build()
    }

    fn query() -> MetricsQuery {
        MetricsQuery {
            function: "orders".into(),
            alias: "live".into(),
            target: "3".into(),
            current: "2".into(),
            start: chrono::Utc::now() - chrono::Duration::minutes(5),
            end: chrono::Utc::now(),
        }
    }

    /// A failing canary (30 of 100 calls) as CloudWatch answers it with some of it missing.
    fn failing_canary(err: StatusCode) -> Vec<MetricDataResult> {
        let t = 1_800_000_000;
        vec![
            answered("t_inv", StatusCode::Complete, &[(t, 100.0)]),
            answered("t_err", err, &[]),
            answered("t_p99", StatusCode::Complete, &[(t, 120.0)]),
            answered("c_inv", StatusCode::Complete, &[(t, 900.0)]),
            answered("c_err", StatusCode::Complete, &[(t, 1.0)]),
            answered("c_p99", StatusCode::Complete, &[(t, 100.0)]),
        ]
    }

    #[tokio::test]
    async fn a_query_answered_internal_error_or_partial_is_unreadable_never_zero_errors() {
        for (status, transient) in [
            (StatusCode::InternalError, true),
            (StatusCode::PartialData, true),
            (StatusCode::Forbidden, false),
        ] {
            let answer = failing_canary(status.clone());
            let rule = mock!(Client::get_metric_data).then_output(move || {
                GetMetricDataOutput::builder()
                    .set_metric_data_results(Some(answer.clone()))
                    .build()
            });
            let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&rule]);
            let read = CloudWatchMetrics::new(client).versions(&query()).await;
            let e = read.expect_err("a result that is not Complete is not read");
            assert!(
                e.message.contains(&format!("t_err {}", status.as_str())),
                "{}",
                e.message
            );
            assert_eq!(e.transient, transient, "{status:?}");
        }
    }

    #[tokio::test]
    async fn partial_data_completed_on_the_next_page_is_read_whole() {
        let t = 1_800_000_000;
        let first = vec![
            answered("t_inv", StatusCode::Complete, &[(t, 100.0)]),
            answered("t_err", StatusCode::PartialData, &[(t, 10.0)]),
        ];
        let second = vec![
            answered("t_err", StatusCode::Complete, &[(t + 60, 20.0)]),
            answered("t_p99", StatusCode::Complete, &[]),
            answered("c_inv", StatusCode::Complete, &[(t, 900.0)]),
            answered("c_err", StatusCode::Complete, &[]),
            answered("c_p99", StatusCode::Complete, &[]),
        ];
        let page1 = mock!(Client::get_metric_data)
            .match_requests(|r| r.next_token().is_none())
            .then_output(move || {
                GetMetricDataOutput::builder()
                    .set_metric_data_results(Some(first.clone()))
                    .next_token("p2")
                    .build()
            });
        let page2 = mock!(Client::get_metric_data)
            .match_requests(|r| r.next_token() == Some("p2"))
            .then_output(move || {
                GetMetricDataOutput::builder()
                    .set_metric_data_results(Some(second.clone()))
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&page1, &page2]);
        let (target, _) = CloudWatchMetrics::new(client)
            .versions(&query())
            .await
            .unwrap();
        assert_eq!((target.invocations, target.errors), (100, 30));
    }

    #[test]
    fn a_query_left_unanswered_is_unreadable() {
        let mut results = failing_canary(StatusCode::Complete);
        results.remove(1);
        let ids: Vec<String> = queries(&query())
            .iter()
            .map(|q| q.id().unwrap().to_string())
            .collect();
        let e = whole(&ids, &results).unwrap_err();
        assert!(e.message.contains("t_err not answered"), "{}", e.message);
        assert!(whole(&ids, &failing_canary(StatusCode::Complete)).is_ok());
    }

    #[test]
    fn a_nan_or_negative_count_makes_the_read_unreadable_instead_of_being_dropped() {
        for bad in [f64::NAN, -3.0, f64::INFINITY] {
            let results = [
                result("t_inv", &[(0, 100.0)]),
                result("t_err", &[(0, 30.0), (60, bad)]),
            ];
            let e = tally(&results, "t", "3").unwrap_err();
            assert!(e.message.contains("t_err"), "{}", e.message);
            assert!(!e.transient);
        }
    }

    #[test]
    fn asks_for_both_versions_by_the_three_dimensions_lambda_publishes() {
        let q = MetricsQuery {
            function: "orders".into(),
            alias: "live".into(),
            target: "3".into(),
            current: "2".into(),
            start: chrono::DateTime::UNIX_EPOCH,
            end: chrono::DateTime::UNIX_EPOCH,
        };
        let queries = queries(&q);
        assert_eq!(queries.len(), 6);
        let stat = queries[5].metric_stat().unwrap();
        assert_eq!((stat.period(), stat.stat()), (Some(60), Some("p99")));
        let metric = stat.metric().unwrap();
        assert_eq!(
            (metric.namespace(), metric.metric_name()),
            (Some("AWS/Lambda"), Some("Duration"))
        );
        let dims: Vec<_> = metric
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap(), d.value().unwrap()))
            .collect();
        assert_eq!(
            dims,
            [
                ("FunctionName", "orders"),
                ("Resource", "orders:live"),
                ("ExecutedVersion", "2")
            ]
        );
    }
}
