//! The analysis provider: CloudWatch alarms, read by name in as few calls as possible. An
//! alarm that does not come back is missing; a failed read makes every alarm unreadable.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use aws_sdk_cloudwatch::Client;

use rollout_core::{AlarmState, AlarmVerdict};
use rollout_usecases::ports::{AlarmSource, CallFailed};

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
                    .map(|a| (a.alarm_name(), a.state_value()));
                let composite = page
                    .composite_alarms()
                    .iter()
                    .map(|a| (a.alarm_name(), a.state_value()));
                for (name, state) in metric.chain(composite) {
                    if let (Some(name), Some(state)) = (name, state) {
                        found.push((name.to_string(), state.clone()));
                    }
                }
            }
        }
        Ok(found)
    }
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
