//! The analysis provider: CloudWatch alarms, read by name in as few calls as possible. An
//! alarm that does not come back is missing; a failed read makes every alarm unreadable.

use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{AlarmHistoryItem, AlarmType, HistoryItemType, StateValue};
use aws_sdk_cloudwatch::Client;

use rollout_core::alarms::watches_alias;
use rollout_core::report::AlarmChange;
use rollout_core::{AlarmState, AlarmVerdict};
use rollout_usecases::ports::{AlarmCatalog, AlarmHistory, AlarmSource, CallFailed};

/// DescribeAlarms accepts at most 100 names per call.
const NAMES_PER_CALL: usize = 100;

pub struct CloudWatchAlarms {
    client: Client,
}

impl CloudWatchAlarms {
    pub fn new(client: Client) -> Self {
        CloudWatchAlarms { client }
    }

    async fn states(&self, names: &[String]) -> Result<Vec<(String, StateValue)>, CallFailed> {
        Ok(self
            .by_name(names)
            .await?
            .into_iter()
            .filter_map(|a| Some((a.name, a.state?)))
            .collect())
    }

    /// The named alarms (metric and composite) that exist, in as few DescribeAlarms calls as
    /// the names allow.
    async fn by_name(&self, names: &[String]) -> Result<Vec<Described>, CallFailed> {
        let mut found = Vec::new();
        for chunk in names.chunks(NAMES_PER_CALL) {
            let mut pages = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| crate::call_failed("DescribeAlarms", &e))?;
                let metric = page
                    .metric_alarms()
                    .iter()
                    .map(|a| (a.alarm_name(), a.state_value(), a.alarm_arn()));
                let composite = page
                    .composite_alarms()
                    .iter()
                    .map(|a| (a.alarm_name(), a.state_value(), a.alarm_arn()));
                for (name, state, arn) in metric.chain(composite) {
                    if let Some(name) = name {
                        found.push(Described {
                            name: name.to_string(),
                            state: state.cloned(),
                            arn: arn.map(str::to_string),
                        });
                    }
                }
            }
        }
        Ok(found)
    }
}

/// One alarm as DescribeAlarms answered for it.
struct Described {
    name: String,
    state: Option<StateValue>,
    arn: Option<String>,
}

/// For the dashboard, the report and `status --watch`: which alarms watch an alias, and
/// their ARNs.
#[async_trait]
impl AlarmCatalog for CloudWatchAlarms {
    /// Every metric alarm whose dimensions name `function:alias` (see
    /// [`watches_alias`]), in one paginated scan: `(name, arn)`.
    async fn watching(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Vec<(String, String)>, CallFailed> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .describe_alarms()
            .alarm_types(AlarmType::MetricAlarm)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| crate::call_failed("DescribeAlarms", &e))?;
            for alarm in page.metric_alarms() {
                // A metric-math alarm names its metrics in `metrics`, a plain one in `dimensions`.
                let plain = std::iter::once(alarm.dimensions());
                let math = alarm
                    .metrics()
                    .iter()
                    .filter_map(|q| Some(q.metric_stat()?.metric()?.dimensions()));
                let watches = plain.chain(math).any(|dims| {
                    let pairs = dims.iter().filter_map(|d| Some((d.name()?, d.value()?)));
                    watches_alias(pairs, function, alias)
                });
                if let (true, Some(name), Some(arn)) =
                    (watches, alarm.alarm_name(), alarm.alarm_arn())
                {
                    found.push((name.to_string(), arn.to_string()));
                }
            }
        }
        Ok(found)
    }

    /// The ARN of each named alarm (metric or composite), `None` for one that does not exist.
    async fn arns(&self, names: &[String]) -> Result<Vec<(String, Option<String>)>, CallFailed> {
        let found: Vec<(String, String)> = self
            .by_name(names)
            .await?
            .into_iter()
            .filter_map(|a| Some((a.name, a.arn?)))
            .collect();
        Ok(names
            .iter()
            .map(|name| {
                let arn = found
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, a)| a.clone());
                (name.clone(), arn)
            })
            .collect())
    }
}

/// For the report: what the alarms did.
#[async_trait]
impl AlarmHistory for CloudWatchAlarms {
    /// The state changes (`StateUpdate` history items) of the named alarms between `start`
    /// and `end`, oldest first; an item whose data cannot be read is shown from its summary.
    async fn state_changes(
        &self,
        names: &[String],
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<AlarmChange>, CallFailed> {
        let mut changes = Vec::new();
        for name in names {
            let mut pages = self
                .client
                .describe_alarm_history()
                .alarm_name(name)
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .history_item_type(HistoryItemType::StateUpdate)
                .start_date(DateTime::from_secs(start.timestamp()))
                .end_date(DateTime::from_secs(end.timestamp() + 1))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| crate::call_failed("DescribeAlarmHistory", &e))?;
                // Newest first on the page: reversed, so that changes within one second
                // keep their order through the sort below.
                let items = page.alarm_history_items().iter().rev();
                changes.extend(items.filter_map(state_change));
            }
        }
        changes.sort_by_key(|c| c.at);
        Ok(changes)
    }
}

/// One history item as a change: the states and the new state's reason from its
/// `HistoryData` (`{"oldState": {"stateValue"}, "newState": {"stateValue", "stateReason"}}`);
/// `None` for an item that changed no state (the emulator records an alarm's creation so).
fn state_change(item: &AlarmHistoryItem) -> Option<AlarmChange> {
    let at = item.timestamp()?;
    let at = chrono::DateTime::from_timestamp(at.secs(), at.subsec_nanos())?;
    let data: serde_json::Value = item
        .history_data()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_string();
    let (from, to) = (
        text(&data["oldState"]["stateValue"]),
        text(&data["newState"]["stateValue"]),
    );
    if from == to && from != "?" {
        return None;
    }
    Some(AlarmChange {
        alarm: item.alarm_name()?.to_string(),
        at,
        from,
        to,
        reason: data["newState"]["stateReason"]
            .as_str()
            .or(item.history_summary())
            .unwrap_or_default()
            .to_string(),
    })
}

#[async_trait]
impl AlarmSource for CloudWatchAlarms {
    async fn verdicts(&self, names: &[String]) -> Result<Vec<AlarmVerdict>, CallFailed> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.states(names).await?;
        Ok(names
            .iter()
            .map(|name| {
                let state = match found.iter().find(|(n, _)| n == name).map(|(_, s)| s) {
                    None => AlarmState::Missing,
                    Some(StateValue::Alarm) => AlarmState::Alarm,
                    Some(StateValue::Ok) => AlarmState::Ok,
                    Some(StateValue::InsufficientData) => AlarmState::InsufficientData,
                    Some(other) => AlarmState::Unreadable(format!("unknown state {other}")),
                };
                AlarmVerdict::new(name.clone(), state)
            })
            .collect())
    }

    async fn tags(&self, alarm_arn: &str) -> Result<Vec<(String, String)>, CallFailed> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(alarm_arn)
            .send()
            .await
            .map_err(|e| crate::call_failed("ListTagsForResource", &e))?;
        Ok(out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::describe_alarms::{
        DescribeAlarmsError, DescribeAlarmsOutput,
    };
    use aws_sdk_cloudwatch::types::MetricAlarm;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn an_alarm_that_does_not_come_back_is_missing() {
        let rule = mock!(Client::describe_alarms).then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("errors")
                        .state_value(StateValue::Alarm)
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&rule]);
        let verdicts = CloudWatchAlarms::new(client)
            .verdicts(&names(&["errors", "latency"]))
            .await
            .unwrap();
        assert_eq!(
            verdicts,
            [
                AlarmVerdict::new("errors", AlarmState::Alarm),
                AlarmVerdict::new("latency", AlarmState::Missing)
            ]
        );
    }

    #[tokio::test]
    async fn a_refused_read_is_an_error_that_will_not_pass() {
        let rule = mock!(Client::describe_alarms)
            .then_error(|| DescribeAlarmsError::unhandled(std::io::Error::other("AccessDenied")));
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&rule]);
        let failed = CloudWatchAlarms::new(client)
            .verdicts(&names(&["a", "b"]))
            .await
            .unwrap_err();
        assert_eq!(failed.operation, "DescribeAlarms");
        assert!(!failed.transient, "{failed:?}");
    }

    #[tokio::test]
    async fn an_unavailable_service_is_an_error_that_may_pass() {
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_runtime_api::http::StatusCode;
        let rule = mock!(Client::describe_alarms).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(503).unwrap(),
                "service unavailable".into(),
            )
        });
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&rule]);
        let failed = CloudWatchAlarms::new(client)
            .verdicts(&names(&["a"]))
            .await
            .unwrap_err();
        assert!(failed.transient, "{failed:?}");
    }

    #[test]
    fn a_history_item_is_a_change_with_its_reason_unless_it_changed_nothing() {
        let item = |old: &str, new: &str| {
            AlarmHistoryItem::builder()
                .alarm_name("errors")
                .timestamp(DateTime::from_secs(1_800_000_000))
                .history_data(format!(
                    r#"{{"oldState": {{"stateValue": "{old}"}}, "newState": {{"stateValue": "{new}", "stateReason": "Threshold Crossed"}}}}"#
                ))
                .build()
        };
        let change = state_change(&item("OK", "ALARM")).expect("a change");
        assert_eq!(
            (
                change.alarm.as_str(),
                change.from.as_str(),
                change.to.as_str()
            ),
            ("errors", "OK", "ALARM")
        );
        assert_eq!(change.reason, "Threshold Crossed");
        assert_eq!(change.at.timestamp(), 1_800_000_000);
        assert_eq!(
            state_change(&item("INSUFFICIENT_DATA", "INSUFFICIENT_DATA")),
            None
        );
    }

    #[tokio::test]
    async fn no_alarms_means_no_call() {
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, []);
        assert!(CloudWatchAlarms::new(client)
            .verdicts(&[])
            .await
            .unwrap()
            .is_empty());
    }
}
