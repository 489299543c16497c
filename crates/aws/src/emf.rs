//! lambda-rollout's own metrics inside Lambda, in CloudWatch's embedded metric format (EMF):
//! one JSON document per datapoint, each one whole line on stdout. Lambda sends stdout to the
//! function's log group, and CloudWatch Logs extracts the metric from the line (it shows
//! within about a minute). No AWS call: no step budget spent, no `cloudwatch:PutMetricData`
//! allowed, and each weight goes out the moment it is applied.
//!
//! The format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use serde_json::{json, Value};

use rollout_core::dashboard::ROLLOUT_NAMESPACE;
use rollout_usecases::ports::{CallFailed, Datapoint, MetricsSink};

/// The datapoints' dimension set, as in `PutMetricData`: `FunctionName` (plain) and `Alias`.
const DIMENSIONS: [&str; 2] = ["FunctionName", "Alias"];

/// A [`MetricsSink`] that writes EMF lines to `out` (stdout in a function).
pub struct EmbeddedMetrics<W = std::io::Stdout> {
    out: Mutex<W>,
}

impl EmbeddedMetrics {
    /// Lines on stdout, where Lambda's log capture (and the tracing log lines) go.
    pub fn stdout() -> Self {
        EmbeddedMetrics::to(std::io::stdout())
    }
}

impl<W: Write + Send> EmbeddedMetrics<W> {
    pub fn to(out: W) -> Self {
        EmbeddedMetrics {
            out: Mutex::new(out),
        }
    }
}

/// One datapoint as one EMF document on one line (no newline): the value under the metric's
/// name, the dimensions as root members, high resolution (1 s) like `PutMetricData`'s, so
/// steps held for seconds stay apart on a graph.
pub fn document(point: &Datapoint) -> String {
    let name = point.metric.name();
    let mut doc = json!({
        "_aws": {
            "Timestamp": point.at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": ROLLOUT_NAMESPACE,
                "Dimensions": [DIMENSIONS],
                "Metrics": [{"Name": name, "Unit": point.metric.unit(), "StorageResolution": 1}],
            }],
        },
        "FunctionName": point.function,
        "Alias": point.alias,
    });
    doc[name] = Value::from(point.value);
    // serde_json escapes every control character: the text is one line whatever the names.
    doc.to_string()
}

#[async_trait]
impl<W: Write + Send> MetricsSink for EmbeddedMetrics<W> {
    /// Each document is written whole, with its newline, in one `write_all` under the lock:
    /// stdout's own lock (which the tracing log lines take too) is held for the whole line,
    /// so a log line never lands inside it.
    async fn put(&self, points: &[Datapoint]) -> Result<(), CallFailed> {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let written = points
            .iter()
            .try_for_each(|point| out.write_all(format!("{}\n", document(point)).as_bytes()))
            .and_then(|()| out.flush());
        written.map_err(|e| CallFailed {
            operation: "EmbeddedMetricFormat",
            message: format!("writing the metric to stdout: {e}"),
            transient: false,
        })
    }

    fn costs_a_call(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use rollout_usecases::ports::OwnMetric;

    fn weight(value: f64, at_ms: i64) -> Datapoint {
        Datapoint {
            metric: OwnMetric::TrafficWeight,
            function: "orders".into(),
            alias: "live".into(),
            value,
            at: DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap(),
        }
    }

    #[test]
    fn a_weight_is_one_document_of_the_exact_shape_cloudwatch_extracts() {
        let line = document(&weight(10.0, 1_795_000_000_123));
        assert!(!line.contains('\n'));
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_795_000_000_123_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "LambdaRollout",
                        "Dimensions": [["FunctionName", "Alias"]],
                        "Metrics": [{"Name": "TrafficWeight", "Unit": "Percent", "StorageResolution": 1}],
                    }],
                },
                "FunctionName": "orders",
                "Alias": "live",
                "TrafficWeight": 10.0,
            })
        );
    }

    #[test]
    fn the_timestamp_is_whole_milliseconds_and_the_value_is_kept_as_rounded() {
        let mut point = weight(12.5, 0);
        point.at = DateTime::parse_from_rfc3339("2026-11-23T13:00:05.123999Z")
            .unwrap()
            .into();
        let doc: Value = serde_json::from_str(&document(&point)).unwrap();
        assert_eq!(doc["_aws"]["Timestamp"], json!(1_795_438_805_123_i64));
        assert_eq!(doc["TrafficWeight"], json!(12.5));
    }

    #[test]
    fn a_verdict_has_its_own_name_and_no_unit() {
        let mut point = weight(1.0, 0);
        point.metric = OwnMetric::CanaryVerdict;
        let doc: Value = serde_json::from_str(&document(&point)).unwrap();
        let metric = &doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0];
        assert_eq!(
            (&metric["Name"], &metric["Unit"]),
            (&json!("CanaryVerdict"), &json!("None"))
        );
        assert_eq!(doc["CanaryVerdict"], json!(1.0));
        assert!(doc.get("TrafficWeight").is_none());
    }

    #[tokio::test]
    async fn each_point_is_one_whole_line_and_costs_no_call() {
        let sink = EmbeddedMetrics::to(Vec::new());
        assert!(!sink.costs_a_call());
        let mut odd = weight(20.0, 2_000);
        odd.alias = "live\nfake".into();
        sink.put(&[weight(10.0, 1_000), odd]).await.unwrap();
        let text = String::from_utf8(sink.out.into_inner().unwrap()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(text.ends_with('\n'));
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(
            (&lines[0]["TrafficWeight"], &lines[1]["Alias"]),
            (&json!(10.0), &json!("live\nfake"))
        );
    }

    #[tokio::test]
    async fn a_failed_write_is_reported_not_hidden() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let error = EmbeddedMetrics::to(Closed)
            .put(&[weight(10.0, 0)])
            .await
            .unwrap_err();
        assert_eq!(error.operation, "EmbeddedMetricFormat");
    }
}
