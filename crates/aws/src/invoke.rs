//! Invoking one published version of a function, for a smoke test: what it answered, and
//! whether Lambda flagged the answer as a function error.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::Client;
use serde_json::Value;

use rollout_usecases::ports::{Invocation, Invoker};

/// The SDK-backed invoker.
pub struct LambdaInvoker {
    client: Client,
}

impl LambdaInvoker {
    /// A client of its own: an invocation is never retried (a retry would run the function
    /// twice) and may take as long as the function does; the caller bounds it.
    pub fn new(config: &SdkConfig) -> Self {
        let config = aws_sdk_lambda::config::Builder::from(config)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .disable_operation_timeout()
                    .disable_operation_attempt_timeout()
                    .build(),
            )
            .build();
        LambdaInvoker {
            client: Client::from_conf(config),
        }
    }

    pub fn with_client(client: Client) -> Self {
        LambdaInvoker { client }
    }
}

#[async_trait]
impl Invoker for LambdaInvoker {
    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &Value,
    ) -> Result<Invocation, rollout_usecases::ports::CallFailed> {
        let out = self
            .client
            .invoke()
            .function_name(function)
            .qualifier(qualifier)
            .payload(Blob::new(payload.to_string()))
            .send()
            .await
            .map_err(|e| crate::call_failed("Invoke", &e))?;
        Ok(Invocation {
            function_error: out.function_error().map(String::from),
            payload: out
                .payload()
                .map(|p| p.as_ref().to_vec())
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::operation::invoke::{InvokeError, InvokeOutput};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    #[tokio::test]
    async fn carries_the_function_error_and_the_answer() {
        let rule = mock!(Client::invoke)
            .match_requests(|r| r.qualifier() == Some("7"))
            .then_output(|| {
                InvokeOutput::builder()
                    .function_error("Unhandled")
                    .payload(Blob::new(r#"{"errorMessage":"boom"}"#))
                    .build()
            });
        let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&rule]);
        let answer = LambdaInvoker::with_client(client)
            .invoke("orders", "7", &serde_json::json!({}))
            .await
            .unwrap();
        assert_eq!(answer.function_error.as_deref(), Some("Unhandled"));
        assert_eq!(answer.payload, br#"{"errorMessage":"boom"}"#);
    }

    #[tokio::test]
    async fn a_failed_call_says_so() {
        let rule = mock!(Client::invoke)
            .then_error(|| InvokeError::unhandled(std::io::Error::other("TooManyRequests")));
        let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&rule]);
        let err = LambdaInvoker::with_client(client)
            .invoke("orders", "7", &serde_json::json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.operation, "Invoke", "{err}");
    }
}
