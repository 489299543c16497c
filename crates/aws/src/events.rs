//! The EventBridge channel: every rollout and hook event as one `PutEvents` entry on
//! the configured bus, `source` `lambda-rollout`, `detail-type` `Lambda Rollout State Change`,
//! `detail` the same JSON as the SNS `default` message, `resources` the function's ARN when
//! the caller named the function by ARN.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use rollout_core::Notification;
use rollout_usecases::ports::{CallFailed, Channel};

pub const SOURCE: &str = "lambda-rollout";
pub const DETAIL_TYPE: &str = "Lambda Rollout State Change";

/// Error codes of a failed entry worth sending again.
const TRANSIENT_ENTRY_CODES: &[&str] = &[
    "ThrottlingException",
    "InternalException",
    "InternalFailure",
];

pub struct EventBridgeEvents {
    client: Client,
    /// `default`, a bus name or a bus ARN.
    bus: String,
}

impl EventBridgeEvents {
    pub fn new(client: Client, bus: String) -> Self {
        EventBridgeEvents { client, bus }
    }
}

#[async_trait]
impl Channel for EventBridgeEvents {
    fn failure(&self) -> String {
        "the event could not be sent to EventBridge".into()
    }

    async fn send(&self, notification: &Notification) -> Result<(), CallFailed> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(DETAIL_TYPE)
            .detail(notification.detail())
            .set_resources(notification.function_arn.clone().map(|arn| vec![arn]))
            .build();
        let answer = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| crate::call_failed("PutEvents", &e))?;
        // PutEvents answers 200 with the entry's own failure inside.
        match answer.entries().first() {
            Some(e) if e.error_code().is_some() => {
                let code = e.error_code().unwrap_or_default();
                Err(CallFailed {
                    operation: "PutEvents",
                    message: format!("{code}: {}", e.error_message().unwrap_or_default()),
                    transient: TRANSIENT_ENTRY_CODES.contains(&code),
                })
            }
            _ if answer.failed_entry_count() > 0 => Err(CallFailed {
                operation: "PutEvents",
                message: "the event was not accepted".into(),
                transient: true,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use rollout_core::EventKind;

    fn note(function: &str) -> Notification {
        Notification::new(
            EventKind::RolledBack,
            "r-1",
            function,
            "live",
            ("1", "2"),
            0.0,
            "RolledBack",
            None,
            Vec::new(),
            chrono::Utc::now(),
            "test",
        )
    }

    fn answered(code: Option<&str>) -> PutEventsOutput {
        let entry = match code {
            Some(code) => PutEventsResultEntry::builder()
                .error_code(code)
                .error_message("refused")
                .build(),
            None => PutEventsResultEntry::builder().event_id("e-1").build(),
        };
        PutEventsOutput::builder()
            .failed_entry_count(i32::from(code.is_some()))
            .entries(entry)
            .build()
    }

    /// PutEvents answers 200 with the entry's own failure: a throttled entry may pass when
    /// sent again, a refused one will not.
    #[tokio::test]
    async fn an_entry_refused_inside_a_200_is_a_failure_transient_only_when_throttled() {
        for (code, transient) in [
            ("ThrottlingException", true),
            ("AccessDeniedException", false),
        ] {
            let rule = mock!(Client::put_events).then_output(move || answered(Some(code)));
            let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&rule]);
            let failed = EventBridgeEvents::new(client, "default".into())
                .send(&note("orders"))
                .await
                .unwrap_err();
            assert_eq!(failed.transient, transient, "{code}");
            assert!(failed.message.starts_with(code), "{}", failed.message);
        }
    }

    #[tokio::test]
    async fn the_entry_carries_the_sns_json_and_the_function_arn() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:orders";
        let sent = note(arn);
        let detail = sent.detail();
        let rule = mock!(Client::put_events)
            .match_requests(move |r| {
                let e = &r.entries()[0];
                e.source() == Some(SOURCE)
                    && e.detail_type() == Some(DETAIL_TYPE)
                    && e.detail() == Some(detail.as_str())
                    && e.resources() == [arn]
                    && e.event_bus_name() == Some("default")
            })
            .then_output(|| answered(None));
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&rule]);
        EventBridgeEvents::new(client, "default".into())
            .send(&sent)
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }
}
