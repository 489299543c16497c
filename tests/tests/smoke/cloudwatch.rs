//! CloudWatch alarms through ministack (needs `cbor2`: the SDK speaks CBOR).

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
use rollout_testkit::Ministack;

#[tokio::test]
async fn cloudwatch_alarm_state_can_be_forced() {
    let stack = Ministack::start().await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&stack.sdk_config());
    let dimension = Dimension::builder()
        .name("FunctionName")
        .value("orders")
        .build();
    cloudwatch
        .put_metric_alarm()
        .alarm_name("orders-errors")
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .dimensions(dimension)
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .send()
        .await
        .expect("put_metric_alarm");

    let state = |cloudwatch: aws_sdk_cloudwatch::Client| async move {
        let out = cloudwatch
            .describe_alarms()
            .alarm_names("orders-errors")
            .send()
            .await
            .expect("describe_alarms");
        let alarms = out.metric_alarms();
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        alarms[0].state_value().cloned().expect("a state")
    };
    let initial = state(cloudwatch.clone()).await;
    assert!(
        matches!(initial, StateValue::Ok | StateValue::InsufficientData),
        "{initial:?}"
    );

    cloudwatch
        .set_alarm_state()
        .alarm_name("orders-errors")
        .state_value(StateValue::Alarm)
        .state_reason("smoke test")
        .send()
        .await
        .expect("set_alarm_state");
    assert_eq!(state(cloudwatch.clone()).await, StateValue::Alarm);

    let missing = cloudwatch
        .describe_alarms()
        .alarm_names("no-such-alarm")
        .send()
        .await
        .expect("describe_alarms");
    assert!(
        missing.metric_alarms().is_empty(),
        "an unknown alarm name is simply absent"
    );
}
