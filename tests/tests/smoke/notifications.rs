//! SNS → SQS through ministack: what a queue subscribed to the rollout topic
//! receives for a `MessageStructure=json` publish with message attributes.

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use rollout_testkit::Ministack;
use serde_json::{json, Value};

#[tokio::test]
async fn sns_json_messages_reach_an_sqs_subscriber() {
    let stack = Ministack::start().await;
    let config = stack.sdk_config();
    let (sns, sqs) = (
        aws_sdk_sns::Client::new(&config),
        aws_sdk_sqs::Client::new(&config),
    );

    let topic = sns
        .create_topic()
        .name("rollouts")
        .send()
        .await
        .expect("create_topic");
    let topic_arn = topic.topic_arn().expect("topic ARN");
    let queue = sqs
        .create_queue()
        .queue_name("rollout-events")
        .send()
        .await
        .expect("create_queue");
    let queue_url = queue.queue_url().expect("queue URL");
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("get_queue_attributes");
    let queue_arn = &attributes.attributes().expect("attributes")[&QueueAttributeName::QueueArn];
    sns.subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "false")
        .send()
        .await
        .expect("subscribe");

    let event = json!({"event": "rollout.rolled_back", "functionName": "orders", "alias": "live"});
    let message = json!({"default": event.to_string(), "email": "orders:live rolled back 7 -> 6"});
    let attribute = |value: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .unwrap()
    };
    sns.publish()
        .topic_arn(topic_arn)
        .message_structure("json")
        .message(message.to_string())
        .subject("orders:live rolled back 7 -> 6")
        .message_attributes("event", attribute("rollout.rolled_back"))
        .message_attributes("severity", attribute("critical"))
        .send()
        .await
        .expect("publish");

    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .wait_time_seconds(5)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive_message");
    let messages = received.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let envelope: Value =
        serde_json::from_str(messages[0].body().expect("body")).expect("an SNS envelope");
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], topic_arn);
    assert_eq!(envelope["Subject"], "orders:live rolled back 7 -> 6");
    let delivered: Value =
        serde_json::from_str(envelope["Message"].as_str().expect("Message")).unwrap();
    assert_eq!(delivered, event, "SQS gets the `default` message");
    assert_eq!(
        envelope["MessageAttributes"]["event"],
        json!({"Type": "String", "Value": "rollout.rolled_back"})
    );
    assert_eq!(
        envelope["MessageAttributes"]["severity"]["Value"],
        "critical"
    );
}
