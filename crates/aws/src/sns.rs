//! The SNS channel: each event to the topic its rollout names (or its driver's default),
//! `MessageStructure=json` (a JSON `default`, plain text for `email`), a short subject, and
//! message attributes for subscription filter policies. Also the topic check a start makes.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use rollout_core::Notification;
use rollout_usecases::ports::{CallFailed, Channel, Topics};

pub struct SnsNotifier {
    client: Client,
}

impl SnsNotifier {
    pub fn new(client: Client) -> Self {
        SnsNotifier { client }
    }
}

#[async_trait]
impl Topics for SnsNotifier {
    async fn check_topic(&self, topic_arn: &str) -> Result<(), CallFailed> {
        self.client
            .get_topic_attributes()
            .topic_arn(topic_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::call_failed("GetTopicAttributes", &e))
    }
}

#[async_trait]
impl Channel for SnsNotifier {
    fn failure(&self) -> String {
        "the notification could not be published".into()
    }

    async fn send(&self, notification: &Notification) -> Result<(), CallFailed> {
        let Some(topic_arn) = &notification.topic_arn else {
            return Ok(());
        };
        let mut request = self
            .client
            .publish()
            .topic_arn(topic_arn)
            .message_structure("json")
            .message(notification.message())
            .subject(notification.subject());
        for (name, value) in notification.attributes() {
            request = request.message_attributes(name, string_attribute(value)?);
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::call_failed("Publish", &e))
    }
}

/// A string message attribute, as every SNS channel sends them (filter policies, `eventId`).
pub(crate) fn string_attribute(
    value: impl Into<String>,
) -> Result<MessageAttributeValue, CallFailed> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| CallFailed {
            operation: "Publish",
            message: e.to_string(),
            transient: false,
        })
}
