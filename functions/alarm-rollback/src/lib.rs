//! alarm-rollback's handler: EventBridge's `CloudWatch Alarm State Change` event in, every
//! alias the alarm guards that is mid-rollout put back (`rollout_usecases::alarm_rollback`),
//! and what was done, or Lambda's `errorType`, out.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use chrono::{DateTime, Utc};
use lambda_runtime::{tracing, Diagnostic, LambdaEvent};
use rollout_core::InvalidField;
use rollout_lambda::diagnostic;
use rollout_usecases::alarm_rollback::{roll_back_guarded, AlarmChange, AlarmRollbackSettings};
use rollout_usecases::driver::{Driver, StopScope};
use rollout_usecases::ports::{AlarmSource, AliasStore, Places};
use serde_json::Value;

/// The function's whole job for one event: parse it, roll back what the alarm guards (every
/// member of a release set one of them is in, wherever `places` finds it), and answer with
/// what was done.
pub async fn roll_back_on_alarm(
    driver: &Driver<'_>,
    aliases: &dyn AliasStore,
    alarms: &dyn AlarmSource,
    places: &dyn Places,
    settings: &AlarmRollbackSettings,
    event: LambdaEvent<Value>,
    now: DateTime<Utc>,
) -> Result<Value, Diagnostic> {
    let change = parse_alarm_change(event.payload).map_err(diagnostic)?;
    tracing::info!(alarm = %change.alarm_name, state = %change.state, "alarm state change");
    let scope = match settings.roll_back_any_split {
        true => StopScope::AnySplit,
        false => StopScope::OurRollouts,
    };
    let report = roll_back_guarded(driver, aliases, alarms, places, change, scope, now)
        .await
        .map_err(diagnostic)?;
    Ok(serde_json::to_value(report).expect("the report serializes"))
}

/// The parts of an alarm state change that matter here, from EventBridge's event.
pub fn parse_alarm_change(event: Value) -> Result<AlarmChange, InvalidField> {
    let event: CloudWatchEvent<Value> = serde_json::from_value(event)
        .map_err(|e| InvalidField::new("event", format!("not an EventBridge event: {e}")))?;
    if event.detail_type.as_deref() != Some("CloudWatch Alarm State Change") {
        return Err(InvalidField::new(
            "detail-type",
            format!(
                "{:?} must be \"CloudWatch Alarm State Change\"",
                event.detail_type.unwrap_or_default()
            ),
        ));
    }
    let detail = event.detail.unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let alarm_name = text(&detail["alarmName"]);
    if alarm_name.is_empty() {
        return Err(InvalidField::new("detail.alarmName", "is required"));
    }
    let metrics = detail["configuration"]["metrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let dimensions = metrics
        .iter()
        .filter_map(|m| m["metricStat"]["metric"]["dimensions"].as_object())
        .filter_map(|d| {
            let function = d.get("FunctionName").and_then(Value::as_str)?;
            let alias = d
                .get("Resource")
                .and_then(Value::as_str)
                .and_then(|r| r.split_once(':'))
                .map(|(_, alias)| alias.to_string());
            Some((function.to_string(), alias))
        })
        .collect();
    Ok(AlarmChange {
        alarm_name,
        alarm_arn: event.resources.first().cloned(),
        state: text(&detail["state"]["value"]),
        reason: text(&detail["state"]["reason"]),
        dimensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    use lambda_runtime::Context;
    use rollout_core::AlarmState;
    use rollout_usecases::readiness::ReadyWait;
    use rollout_usecases::testing::{sample, spec, t, World, RID};

    fn invocation(payload: Value) -> LambdaEvent<Value> {
        LambdaEvent::new(payload, Context::default())
    }

    /// The sample alarm, on the fakes' `orders:live`.
    fn alarm_on_orders() -> Value {
        let mut event = sample("alarm-state-change-alarm.json");
        event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] =
            serde_json::json!({"FunctionName": "orders", "Resource": "orders:live"});
        event
    }

    #[test]
    fn finds_the_alias_in_the_resource_dimension() {
        let change = parse_alarm_change(sample("alarm-state-change-alarm.json")).unwrap();
        assert_eq!(change.state, "ALARM");
        assert_eq!(
            change.dimensions,
            [("orders-api".to_string(), Some("live".to_string()))]
        );
        assert!(change
            .alarm_arn
            .unwrap()
            .ends_with(":alarm:orders-api-errors"));
    }

    #[test]
    fn reads_an_ok_transition() {
        let change = parse_alarm_change(sample("alarm-state-change-ok.json")).unwrap();
        assert_eq!(change.state, "OK");
    }

    #[test]
    fn refuses_other_events() {
        let mut event = sample("alarm-state-change-alarm.json");
        event["detail-type"] = "EC2 Instance State-change Notification".into();
        assert_eq!(parse_alarm_change(event).unwrap_err().field, "detail-type");
    }

    #[tokio::test]
    async fn an_alarm_puts_the_split_alias_back_and_answers_what_it_did() {
        let world = World::new();
        let driver = world.driver();
        let no_wait = ReadyWait::up_to(Duration::ZERO);
        driver
            .start(&spec(), RID.into(), t(0), &no_wait)
            .await
            .unwrap();
        assert!(world.aliases.routing_now().is_some(), "split by the start");
        world.alarms.set(AlarmState::Alarm);
        let settings = AlarmRollbackSettings::default();
        let answer = roll_back_on_alarm(
            &driver,
            &world.aliases,
            &world.alarms,
            &world,
            &settings,
            invocation(alarm_on_orders()),
            t(30),
        )
        .await
        .unwrap();
        assert_eq!(answer["alarmName"], "orders-api-errors");
        assert_eq!(
            answer["rolledBack"].as_array().unwrap().len(),
            1,
            "{answer}"
        );
        assert_eq!(world.aliases.routing_now(), None);
        assert_eq!(
            world.notifier.events(),
            ["rollout.started", "rollout.rolled_back"]
        );
    }

    #[tokio::test]
    async fn an_event_of_another_kind_fails_as_invalid_input_and_touches_nothing() {
        let world = World::new();
        let mut event = alarm_on_orders();
        event["detail-type"] = "EC2 Instance State-change Notification".into();
        let settings = AlarmRollbackSettings::default();
        let failed = roll_back_on_alarm(
            &world.driver(),
            &world.aliases,
            &world.alarms,
            &world,
            &settings,
            invocation(event),
            t(0),
        )
        .await
        .unwrap_err();
        assert_eq!(failed.error_type, "InvalidInput");
        assert!(failed.error_message.contains("detail-type"), "{failed:?}");
        assert!(world.aliases.calls.lock().unwrap().is_empty());
    }
}
