//! The functions' edge with the Lambda runtime, written once for all five: a failure as
//! Lambda's `Diagnostic` (the `errorType` of `rollout_usecases::failure`, logged once, here;
//! the event itself never is: a CodePipeline job carries credentials), and the handler both
//! CodeDeploy traffic hooks run.

use lambda_runtime::{tracing, Diagnostic, LambdaEvent};
use rollout_usecases::failure::Failure;
use rollout_usecases::hooks::Hook;
use serde_json::Value;

/// A failed invocation as Lambda reports it.
pub fn diagnostic(failure: impl Into<Failure>) -> Diagnostic {
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

/// A traffic hook's whole job for one event: answer CodeDeploy, whatever happens, before the
/// invocation's deadline.
pub async fn answer_hook(hook: &Hook, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    hook.answer(event.payload, event.context.deadline)
        .await
        .map_err(diagnostic)
}
