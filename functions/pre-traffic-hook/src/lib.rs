//! pre-traffic-hook's handler: CodeDeploy's `BeforeAllowTraffic` lifecycle event in, the
//! hook's answer (`rollout_usecases::hooks`), and its report, or Lambda's `errorType`, out.

pub use rollout_lambda::answer_hook as answer;

#[cfg(test)]
mod tests {
    use super::*;

    use lambda_runtime::LambdaEvent;
    use serde_json::Value;

    use std::time::{SystemTime, UNIX_EPOCH};

    use lambda_runtime::Context;
    use rollout_core::InvalidField;
    use rollout_usecases::hooks::fakes::{hook, Fakes};
    use rollout_usecases::hooks::HookKind;
    use rollout_usecases::testing::sample;
    use serde_json::json;

    /// `payload` as Lambda hands it over, with half a minute to answer.
    fn invocation(payload: Value) -> LambdaEvent<Value> {
        let mut context = Context::default();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        context.deadline = now.as_millis() as u64 + 30_000;
        LambdaEvent::new(payload, context)
    }

    #[tokio::test]
    async fn the_sample_event_is_answered_succeeded_on_healthy_fakes() {
        let (hook, seen) = hook(HookKind::PreTraffic, Fakes::default());
        let report = answer(&hook, invocation(sample("codedeploy-hook.json")))
            .await
            .unwrap();
        assert_eq!(
            (&report["deploymentId"], &report["hook"], &report["status"]),
            (
                &json!("d-ABCDEF123"),
                &json!("PreTraffic"),
                &json!("Succeeded")
            ),
            "{report}"
        );
        assert_eq!(
            seen.answers_and_events(),
            (vec![true], vec!["hook.succeeded"])
        );
    }

    #[tokio::test]
    async fn an_event_without_its_ids_fails_as_invalid_input_and_answers_nothing() {
        let (hook, seen) = hook(HookKind::PreTraffic, Fakes::default());
        let failed = answer(&hook, invocation(json!({"DeploymentId": "d-1"})))
            .await
            .unwrap_err();
        assert_eq!(failed.error_type, "InvalidInput");
        assert!(
            failed
                .error_message
                .contains("LifecycleEventHookExecutionId"),
            "{failed:?}"
        );
        assert_eq!(seen.answers_and_events(), (vec![], vec![]));
    }

    #[tokio::test]
    async fn a_bad_configuration_is_answered_failed_and_fails_as_invalid_configuration() {
        let (mut hook, seen) = hook(HookKind::PreTraffic, Fakes::default());
        hook.settings = Err(InvalidField::new("ALARM_NAMES", "is not a list"));
        let failed = answer(&hook, invocation(sample("codedeploy-hook.json")))
            .await
            .unwrap_err();
        assert_eq!(failed.error_type, "InvalidConfiguration");
        // No one to tell: the topic is part of the configuration.
        assert_eq!(seen.answers_and_events(), (vec![false], vec![]));
    }
}
