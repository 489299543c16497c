//! post-traffic-hook's handler: CodeDeploy's `AfterAllowTraffic` lifecycle event in, the
//! hook's answer (`rollout_usecases::hooks`), and its report, or Lambda's `errorType`, out.

use lambda_runtime::{tracing, Diagnostic, LambdaEvent};
use rollout_usecases::failure::Failure;
use rollout_usecases::hooks::Hook;
use serde_json::Value;

/// The function's whole job for one event: answer CodeDeploy, whatever happens, before the
/// invocation's deadline.
pub async fn answer(hook: &Hook, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    hook.answer(event.payload, event.context.deadline)
        .await
        .map_err(diagnostic)
}

/// A failed invocation as Lambda reports it: the `errorType` of `rollout_usecases::failure`,
/// logged once, here; the event itself never is.
fn diagnostic(failure: impl Into<Failure>) -> Diagnostic {
    let Failure {
        error_type,
        message,
    } = failure.into();
    tracing::error!(error_type, error = %message, "request failed");
    Diagnostic {
        error_type: error_type.into(),
        error_message: message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (hook, seen) = hook(HookKind::PostTraffic, Fakes::default());
        let report = answer(&hook, invocation(sample("codedeploy-hook.json")))
            .await
            .unwrap();
        assert_eq!(
            (&report["deploymentId"], &report["hook"], &report["status"]),
            (
                &json!("d-ABCDEF123"),
                &json!("PostTraffic"),
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
        let (hook, seen) = hook(HookKind::PostTraffic, Fakes::default());
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
        let (mut hook, seen) = hook(HookKind::PostTraffic, Fakes::default());
        hook.settings = Err(InvalidField::new("ALARM_NAMES", "is not a list"));
        let failed = answer(&hook, invocation(sample("codedeploy-hook.json")))
            .await
            .unwrap_err();
        assert_eq!(failed.error_type, "InvalidConfiguration");
        // No one to tell: the topic is part of the configuration.
        assert_eq!(seen.answers_and_events(), (vec![false], vec![]));
    }
}
