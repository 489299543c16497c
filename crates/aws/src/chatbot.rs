//! The AWS Chatbot channel (Amazon Q Developer in chat applications: Slack, Microsoft Teams,
//! Chime): each event, in Chatbot's custom-notification format, to the SNS topic a Chatbot
//! configuration subscribes to. One thread per rollout (`threadId`), the commands to go on
//! with (`nextSteps`); `eventId` also as a message attribute.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use rollout_core::Notification;
use rollout_usecases::ports::{CallFailed, Channel};

pub struct ChatbotChannel {
    client: Client,
    topic_arn: String,
}

impl ChatbotChannel {
    pub fn new(client: Client, topic_arn: String) -> Self {
        ChatbotChannel { client, topic_arn }
    }
}

#[async_trait]
impl Channel for ChatbotChannel {
    fn failure(&self) -> String {
        "the event could not be sent to AWS Chatbot".into()
    }

    async fn send(&self, notification: &Notification) -> Result<(), CallFailed> {
        let event_id = crate::sns::string_attribute(&notification.event_id)?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(notification.chatbot().to_string())
            .message_attributes("eventId", event_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::call_failed("Publish", &e))
    }
}
