//! The one place channels are chosen: every event goes to the SNS topic its rollout names
//! (or its driver's default), and to each channel the process is configured with. A new
//! channel is one adapter and one line here.

use aws_config::SdkConfig;
use rollout_usecases::ports::Channel;
use rollout_usecases::settings::ChannelSettings;

use crate::{chatbot, events, sns, webhook};

/// The channels for `settings`, built once from one configuration. `sns`: whether events go
/// to SNS topics (a hook without `NOTIFICATION_TOPIC_ARN` has none).
pub fn channels(sdk: &SdkConfig, settings: &ChannelSettings, sns: bool) -> Vec<Box<dyn Channel>> {
    let sns_client = || aws_sdk_sns::Client::new(sdk);
    let mut channels: Vec<Box<dyn Channel>> = Vec::new();
    if sns {
        channels.push(Box::new(sns::SnsNotifier::new(sns_client())));
    }
    if let Some(bus) = &settings.event_bus {
        let client = aws_sdk_eventbridge::Client::new(sdk);
        channels.push(Box::new(events::EventBridgeEvents::new(
            client,
            bus.clone(),
        )));
    }
    if let Some(topic) = &settings.chatbot_topic {
        channels.push(Box::new(chatbot::ChatbotChannel::new(
            sns_client(),
            topic.clone(),
        )));
    }
    if let Some(url) = &settings.webhook_url {
        let secrets = || aws_sdk_secretsmanager::Client::new(sdk);
        let secret = settings.webhook_secret_arn.clone();
        channels.push(Box::new(webhook::WebhookChannel::new(
            url.clone(),
            secret,
            secrets,
        )));
    }
    channels
}
