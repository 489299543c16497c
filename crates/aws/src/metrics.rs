//! The analysis provider's metrics: what Lambda publishes per executed version for calls
//! through an alias (`AWS/Lambda`, dimensions `FunctionName`, `Resource` = `name:alias`,
//! `ExecutedVersion`), read for both versions in one `GetMetricData` call. No metric math
//! (the emulator lacks it): the sums and the p99 are combined here.
//!
//! Also lambda-rollout's own metrics (`LambdaRollout`: `TrafficWeight`, `CanaryVerdict`),
//! written with `PutMetricData`, several points in one call, where no log line can carry them:
//! the CLI, and the scheduled judge (inside Lambda the drivers use [`crate::emf`]). The IAM
//! policy allows PutMetricData only in that namespace.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat};
use aws_sdk_cloudwatch::Client;

use rollout_core::dashboard::{CANARY_VERDICT, ROLLOUT_NAMESPACE, TRAFFIC_WEIGHT};
use rollout_core::report::{Point, VersionSeries};
use rollout_core::VersionMetrics;
use rollout_usecases::ports::{CallFailed, Datapoint, MetricsQuery, MetricsSink, MetricsSource};

const NAMESPACE: &str = "AWS/Lambda";
const PERIOD_SECONDS: i32 = 60;
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
    /// pages of one paginated GetMetricData.
    async fn results(
        &self,
        queries: Vec<MetricDataQuery>,
        start: i64,
        end: i64,
    ) -> Result<Vec<MetricDataResult>, CallFailed> {
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
        Ok(results)
    }
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
pub fn tally(results: &[MetricDataResult], role: &str, version: &str) -> VersionMetrics {
    let series = |id: &str| -> Vec<(i64, f64)> {
        let id = format!("{role}_{id}");
        results
            .iter()
            .filter(|r| r.id() == Some(id.as_str()))
            .flat_map(|r| {
                r.timestamps()
                    .iter()
                    .map(DateTime::secs)
                    .zip(r.values().iter().copied())
            })
            .filter(|(_, v)| v.is_finite() && *v >= 0.0)
            .collect()
    };
    let sum = |id: &str| series(id).iter().map(|(_, v)| v).sum::<f64>().round() as u64;
    let calls: HashMap<i64, f64> = series("inv").into_iter().collect();
    let (mut weighted, mut weights) = (0.0, 0.0);
    for (at, p99) in series("p99") {
        let w = calls.get(&at).copied().filter(|w| *w > 0.0).unwrap_or(1.0);
        weighted += p99 * w;
        weights += w;
    }
    VersionMetrics {
        version: version.into(),
        invocations: sum("inv"),
        errors: sum("err"),
        p99_ms: (weights > 0.0).then(|| weighted / weights),
    }
}

/// What the report draws, over a window: the weight and verdict every driver publishes
/// (`LambdaRollout`) and each version's calls, errors and p99 (`AWS/Lambda`, per minute).
pub struct Timeline {
    pub weight: Vec<Point>,
    pub verdict: Vec<Point>,
    pub versions: Vec<VersionSeries>,
}

/// How far back CloudWatch answers with periods under a minute.
const FINE_PERIODS_FOR_HOURS: i64 = 3;

impl CloudWatchMetrics {
    /// The report's series for `function:alias` and `versions` in one paginated
    /// GetMetricData. The weight is read per second while CloudWatch allows it (windows that
    /// start under 3 hours ago), so steps seconds apart stay apart; per minute otherwise.
    pub async fn timeline(
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
        // Whole minutes, so the first minute of the step is counted (it is the target's own).
        let start = query.start.timestamp() / 60 * 60;
        let end = (query.end.timestamp() / 60 + 1) * 60;
        let results = self.results(queries(query), start, end).await?;
        Ok((
            tally(&results, "t", &query.target),
            tally(&results, "c", &query.current),
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
        let t = tally(&results, "t", "3");
        assert_eq!((t.version.as_str(), t.invocations, t.errors), ("3", 400, 5));
        assert_eq!(t.p99_ms, Some(175.0));
        let c = tally(&results, "c", "2");
        assert_eq!((c.invocations, c.errors, c.p99_ms), (900, 0, None));
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
