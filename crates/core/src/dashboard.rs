//! The CloudWatch dashboard of one alias (`rollout dashboard`): the body PutDashboard takes,
//! built from the alias, the versions of its rollout and the alarms that guard it. Pure: the
//! caller finds the versions, the alarms' ARNs and the region.
//!
//! Per-version series name the versions explicitly (not a `SEARCH`), so that each version's
//! error rate can be computed from its own errors and calls; running the command again after
//! the next rollout brings the dashboard to the new versions.

use serde_json::{json, Value};

use crate::validate::short_function_name;

/// The namespace and metrics every driver publishes (see DESIGN.md, "Canary judgement").
pub const ROLLOUT_NAMESPACE: &str = "LambdaRollout";
pub const TRAFFIC_WEIGHT: &str = "TrafficWeight";
pub const CANARY_VERDICT: &str = "CanaryVerdict";
/// Lambda's own per-version metrics.
pub const LAMBDA_NAMESPACE: &str = "AWS/Lambda";

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardInput {
    /// Name or ARN; the metrics carry the short name.
    pub function: String,
    pub alias: String,
    /// The versions whose calls, errors and p99 are drawn (the rollout's from and to).
    pub versions: Vec<String>,
    /// ARNs of the alarms for the alarm widget (the widget takes ARNs, not names).
    pub alarm_arns: Vec<String>,
    pub region: String,
    /// When the alias is a member of a release set: the set's name and every member (its
    /// function's short name, alias and region), whose weights the traffic widget draws, one
    /// line each.
    pub set: Option<(String, Vec<SetMemberLine>)>,
}

/// One member of a release set, as the traffic widget draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct SetMemberLine {
    pub function: String,
    pub alias: String,
    /// Where its metric is, when not in the dashboard's region.
    pub region: Option<String>,
}

/// A dashboard name CloudWatch accepts (`A-Za-z0-9_-`, at most 255), the same for the same alias.
pub fn default_dashboard_name(function: &str, alias: &str) -> String {
    let name = format!("lambda-rollout-{}-{}", short_function_name(function), alias);
    name.chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                true => c,
                false => '-',
            },
        )
        .take(255)
        .collect()
}

/// The dashboard body, as PutDashboard's `DashboardBody` (serialized) takes it: a title, the
/// traffic weight and the canary verdict side by side, then calls, error rate and p99 per
/// version, then the alarms.
pub fn dashboard_body(input: &DashboardInput) -> Value {
    let function = short_function_name(&input.function);
    let alias = input.alias.as_str();
    let resource = format!("{function}:{alias}");
    let per_version = |metric: &str, id: &str, options: Value| -> Vec<Value> {
        input
            .versions
            .iter()
            .map(|v| {
                let mut opts = options.clone();
                opts["id"] = json!(format!("{id}{}", metric_id(v)));
                opts["label"] = json!(format!("version {v}"));
                json!([
                    LAMBDA_NAMESPACE,
                    metric,
                    "FunctionName",
                    function,
                    "Resource",
                    resource,
                    "ExecutedVersion",
                    v,
                    opts
                ])
            })
            .collect()
    };
    let rollout_metric = |metric: &str, label: &str| {
        json!([[ROLLOUT_NAMESPACE, metric, "FunctionName", function, "Alias", alias,
                {"label": label}]])
    };
    // A set member's dashboard draws every member's weight, one line each.
    let (weight_title, weights) = match &input.set {
        Some((name, members)) => (
            format!("Traffic on the new versions, set {name} (%)"),
            json!(members
                .iter()
                .map(|m| {
                    let mut options = json!({"label": format!("{}:{}", m.function, m.alias)});
                    if let Some(region) = m.region.as_ref().filter(|r| **r != input.region) {
                        options["region"] = json!(region);
                    }
                    json!([
                        ROLLOUT_NAMESPACE,
                        TRAFFIC_WEIGHT,
                        "FunctionName",
                        m.function,
                        "Alias",
                        m.alias,
                        options
                    ])
                })
                .collect::<Vec<_>>()),
        ),
        None => (
            "Traffic on the new version (%)".to_string(),
            rollout_metric(TRAFFIC_WEIGHT, "weight (%)"),
        ),
    };
    let mut rates = per_version("Errors", "e", json!({"visible": false}));
    rates.extend(per_version("Invocations", "i", json!({"visible": false})));
    rates.extend(input.versions.iter().map(|v| {
        let id = metric_id(v);
        json!([{"expression": format!("100 * e{id} / i{id}"), "id": format!("r{id}"),
                "label": format!("version {v} error rate (%)")}])
    }));
    let metric_widget = |x: u32, y: u32, title: &str, stat: &str, metrics: Value, y_axis: Value| {
        json!({"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": {
            "title": title, "view": "timeSeries", "region": input.region, "stat": stat,
            "period": 60, "metrics": metrics, "yAxis": {"left": y_axis}}})
    };
    let versions = match input.versions.as_slice() {
        [] => "no versions known".to_string(),
        list => format!("versions {}", list.join(", ")),
    };
    let mut widgets = vec![
        json!({"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {
            "markdown": format!("# {resource}: rollouts\nTraffic on the rollout's new version, its canary verdict, and per-version calls, error rate and p99 ({versions}). Written by `rollout dashboard`; run it again after the next rollout.")}}),
        metric_widget(
            0,
            2,
            &weight_title,
            "Maximum",
            weights,
            json!({"min": 0, "max": 100}),
        ),
        metric_widget(
            12,
            2,
            "Canary verdict (1 = fail)",
            "Maximum",
            rollout_metric(CANARY_VERDICT, "verdict"),
            json!({"min": 0, "max": 1}),
        ),
        metric_widget(
            0,
            8,
            "Invocations by version",
            "Sum",
            json!(per_version("Invocations", "n", json!({}))),
            json!({"min": 0}),
        ),
        metric_widget(
            12,
            8,
            "Error rate by version (%)",
            "Sum",
            json!(rates),
            json!({"min": 0}),
        ),
        metric_widget(
            0,
            14,
            "p99 duration by version (ms)",
            "p99",
            json!(per_version("Duration", "d", json!({}))),
            json!({"min": 0}),
        ),
    ];
    widgets.push(match input.alarm_arns.is_empty() {
        false => json!({"type": "alarm", "x": 12, "y": 14, "width": 12, "height": 6, "properties": {
            "title": format!("Alarms guarding {resource}"), "alarms": input.alarm_arns,
            "sortBy": "stateUpdatedTimestamp"}}),
        true => json!({"type": "text", "x": 12, "y": 14, "width": 12, "height": 6, "properties": {
            "markdown": format!("## Alarms guarding {resource}\nNone found: no alarm's dimensions name this function, and none was given with `--alarm`.")}}),
    });
    json!({"start": "-PT3H", "periodOverride": "inherit", "widgets": widgets})
}

/// A version as part of a metric id (ids allow letters, digits and `_`).
fn metric_id(version: &str) -> String {
    version
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> DashboardInput {
        DashboardInput {
            function: "arn:aws:lambda:eu-west-1:123456789012:function:orders".into(),
            alias: "live".into(),
            versions: vec!["6".into(), "7".into()],
            alarm_arns: vec![
                "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-errors".into(),
            ],
            region: "eu-west-1".into(),
            set: None,
        }
    }

    #[test]
    fn a_set_members_dashboard_draws_every_members_weight() {
        let line = |f: &str, region: &str| SetMemberLine {
            function: f.into(),
            alias: "live".into(),
            region: Some(region.into()),
        };
        let body = dashboard_body(&DashboardInput {
            set: Some((
                "checkout".into(),
                vec![
                    line("orders", "eu-west-1"),
                    line("orders-worker", "eu-west-1"),
                    line("orders", "us-east-1"),
                ],
            )),
            ..input()
        });
        let traffic = widget(&body, "Traffic on the new versions, set checkout (%)");
        let metrics = traffic["properties"]["metrics"].as_array().unwrap();
        assert_eq!(metrics.len(), 3);
        assert_eq!(metrics[1][3], "orders-worker");
        assert_eq!(metrics[1][6]["label"], "orders-worker:live");
        assert!(
            metrics[0][6].get("region").is_none(),
            "the dashboard's own region"
        );
        assert_eq!(metrics[2][6]["region"], "us-east-1");
    }

    fn widget<'a>(body: &'a Value, title: &str) -> &'a Value {
        body["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["properties"]["title"] == title)
            .unwrap_or_else(|| panic!("no widget {title:?} in {body:#}"))
    }

    #[test]
    fn every_widget_has_a_place_and_metric_widgets_a_region() {
        let body = dashboard_body(&input());
        let widgets = body["widgets"].as_array().unwrap();
        assert_eq!(widgets.len(), 7);
        for w in widgets {
            for key in ["x", "y", "width", "height"] {
                assert!(w[key].is_u64(), "{key} in {w}");
            }
            assert!(w["x"].as_u64().unwrap() + w["width"].as_u64().unwrap() <= 24);
            if w["type"] == "metric" {
                assert_eq!(w["properties"]["region"], "eu-west-1");
                assert!(w["properties"]["metrics"]
                    .as_array()
                    .is_some_and(|m| !m.is_empty()));
            }
        }
    }

    #[test]
    fn the_weight_and_verdict_come_from_the_rollout_namespace_by_short_name_and_alias() {
        let body = dashboard_body(&input());
        let weight = &widget(&body, "Traffic on the new version (%)")["properties"]["metrics"][0];
        assert_eq!(
            weight.as_array().unwrap()[..6],
            [
                json!("LambdaRollout"),
                json!("TrafficWeight"),
                json!("FunctionName"),
                json!("orders"),
                json!("Alias"),
                json!("live")
            ]
        );
        let verdict = &widget(&body, "Canary verdict (1 = fail)")["properties"]["metrics"][0];
        assert_eq!(verdict[1], "CanaryVerdict");
    }

    #[test]
    fn each_version_has_its_calls_error_rate_and_p99() {
        let body = dashboard_body(&input());
        let p99 = &widget(&body, "p99 duration by version (ms)")["properties"];
        assert_eq!(p99["stat"], "p99");
        let last = |m: &Value| m.as_array().unwrap()[7].clone();
        let versions: Vec<_> = p99["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(last)
            .collect();
        assert_eq!(versions, [json!("6"), json!("7")]);
        assert_eq!(p99["metrics"][0][5], "orders:live");
        let rates = widget(&body, "Error rate by version (%)")["properties"]["metrics"]
            .as_array()
            .unwrap()
            .clone();
        let expressions: Vec<_> = rates
            .iter()
            .filter_map(|m| m[0]["expression"].as_str())
            .collect();
        assert_eq!(expressions, ["100 * e6 / i6", "100 * e7 / i7"]);
        let ids: Vec<_> = rates
            .iter()
            .filter_map(|m| m.as_array()?.last()?["id"].as_str())
            .collect();
        for id in ["e6", "e7", "i6", "i7"] {
            assert!(ids.contains(&id), "{id} in {ids:?}");
        }
    }

    #[test]
    fn the_alarm_widget_names_the_alarms_or_says_there_are_none() {
        let body = dashboard_body(&input());
        let alarms = &widget(&body, "Alarms guarding orders:live");
        assert_eq!(alarms["type"], "alarm");
        assert_eq!(
            alarms["properties"]["alarms"][0],
            input().alarm_arns[0].as_str()
        );
        let none = dashboard_body(&DashboardInput {
            set: None,
            alarm_arns: vec![],
            ..input()
        });
        let text = none["widgets"].as_array().unwrap().last().unwrap();
        assert_eq!(text["type"], "text");
        assert!(text["properties"]["markdown"]
            .as_str()
            .unwrap()
            .contains("None found"));
    }

    #[test]
    fn the_default_name_is_stable_and_allowed() {
        assert_eq!(
            default_dashboard_name("orders", "live"),
            "lambda-rollout-orders-live"
        );
        assert_eq!(
            default_dashboard_name("arn:aws:lambda:eu-west-1:1:function:orders", "live"),
            "lambda-rollout-orders-live"
        );
    }
}
