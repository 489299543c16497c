//! The event sink over EventBridge: every rollout and hook event as one `PutEvents` entry on
//! the configured bus, `source` `lambda-rollout`, `detail-type` `Lambda Rollout State Change`,
//! `detail` the same JSON as the SNS `default` message, `resources` the function's ARN when
//! the event names one.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use rollout_core::Notification;
use rollout_usecases::ports::{CallFailed, EventSink};

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
impl EventSink for EventBridgeEvents {
    async fn put(&self, notification: &Notification) -> Result<(), CallFailed> {
        let function = &notification.function_name;
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(DETAIL_TYPE)
            .detail(notification.detail())
            .set_resources(function.starts_with("arn:").then(|| vec![function.clone()]))
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
