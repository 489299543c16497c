//! The traffic router: a Lambda alias, read with its RevisionId and only ever updated with
//! the RevisionId the caller last saw; plus what Lambda says of a version (waited for with
//! the SDK's own waiter) and of the alias's provisioned concurrency.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::get_function_configuration::{
    GetFunctionConfigurationError, GetFunctionConfigurationOutput,
};
use aws_sdk_lambda::types::{AliasRoutingConfiguration, LastUpdateStatus, State};
use aws_sdk_lambda::Client;
use aws_smithy_runtime_api::client::waiters::error::WaiterError;

use rollout_core::{
    AliasState, AliasUpdate, ProvisionedConcurrency, PublishedVersion, VersionConfig,
};
use rollout_usecases::ports::{AliasError, AliasStore};

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::call_failed;

/// What Lambda's modeled errors say, for [`alias_error`].
#[derive(Clone, Copy, Default)]
struct Modeled {
    not_found: bool,
    stale_revision: bool,
}

/// One mapping from Lambda's answers to [`AliasError`] for every alias call.
fn alias_error<E>(
    operation: &'static str,
    function: &str,
    alias: &str,
    err: &aws_sdk_lambda::error::SdkError<E, HttpResponse>,
    modeled: Modeled,
) -> AliasError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match modeled {
        Modeled {
            stale_revision: true,
            ..
        } => AliasError::Conflict,
        Modeled {
            not_found: true, ..
        } => AliasError::NotFound {
            function: function.into(),
            alias: alias.into(),
            // Lambda's own words: "Function not found: arn:…" or "Alias not found: arn:…".
            function_missing: err
                .message()
                .is_some_and(|m| m.starts_with("Function not found")),
        },
        _ => {
            let failed = call_failed(operation, err);
            AliasError::Aws(failed)
        }
    }
}

/// The SDK-backed alias store.
pub struct LambdaAliases {
    client: Client,
}

impl LambdaAliases {
    pub fn new(client: Client) -> Self {
        LambdaAliases { client }
    }

    /// For a function that needs only aliases, not every adapter.
    pub fn from_config(sdk: &aws_config::SdkConfig) -> Self {
        LambdaAliases::new(Client::new(sdk))
    }
}

fn alias_state(
    version: Option<&str>,
    routing: Option<&AliasRoutingConfiguration>,
    revision: Option<&str>,
    description: Option<&str>,
) -> AliasState {
    let routing = routing
        .and_then(|r| r.additional_version_weights())
        .and_then(|weights| weights.iter().next())
        .map(|(v, w)| (v.clone(), rollout_core::plan::round_weight(*w)));
    AliasState {
        version: version.unwrap_or_default().to_string(),
        routing,
        revision_id: revision.unwrap_or_default().to_string(),
        description: description.unwrap_or_default().to_string(),
    }
}

#[async_trait]
impl AliasStore for LambdaAliases {
    async fn get(&self, function: &str, alias: &str) -> Result<AliasState, AliasError> {
        let out = self
            .client
            .get_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await
            .map_err(|e| {
                let not_found = e
                    .as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception());
                alias_error(
                    "GetAlias",
                    function,
                    alias,
                    &e,
                    Modeled {
                        not_found,
                        ..Default::default()
                    },
                )
            })?;
        Ok(alias_state(
            out.function_version(),
            out.routing_config(),
            out.revision_id(),
            out.description(),
        ))
    }

    async fn update(
        &self,
        function: &str,
        alias: &str,
        update: &AliasUpdate,
        revision_id: &str,
    ) -> Result<AliasState, AliasError> {
        update.validate()?;
        // An empty map clears the routing; Lambda keeps the old one if the field is absent.
        let weights: HashMap<String, f64> = update.routing.clone().into_iter().collect();
        let out = self
            .client
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(&update.version)
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .set_additional_version_weights(Some(weights))
                    .build(),
            )
            .description(&update.description)
            .revision_id(revision_id)
            .send()
            .await
            .map_err(|e| {
                let service = e.as_service_error();
                let modeled = Modeled {
                    not_found: service.is_some_and(|s| s.is_resource_not_found_exception()),
                    stale_revision: service.is_some_and(|s| s.is_precondition_failed_exception()),
                };
                alias_error("UpdateAlias", function, alias, &e, modeled)
            })?;
        Ok(alias_state(
            out.function_version(),
            out.routing_config(),
            out.revision_id(),
            out.description(),
        ))
    }

    async fn list(&self, function: &str) -> Result<Vec<String>, AliasError> {
        let mut names = Vec::new();
        let mut pages = self
            .client
            .list_aliases()
            .function_name(function)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                let not_found = e
                    .as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception());
                alias_error(
                    "ListAliases",
                    function,
                    "*",
                    &e,
                    Modeled {
                        not_found,
                        ..Default::default()
                    },
                )
            })?;
            names.extend(
                page.aliases()
                    .iter()
                    .filter_map(|a| a.name().map(String::from)),
            );
        }
        Ok(names)
    }

    async fn version(&self, function: &str, version: &str) -> Result<PublishedVersion, AliasError> {
        let result = self
            .client
            .get_function_configuration()
            .function_name(function)
            .qualifier(version)
            .send()
            .await;
        match result {
            Ok(out) => Ok(published_version(&out)),
            Err(e) => version_error(&e),
        }
    }

    async fn wait_until_active(
        &self,
        function: &str,
        version: &str,
        max_wait: Duration,
    ) -> Result<PublishedVersion, AliasError> {
        let waited = self
            .client
            .wait_until_published_version_active()
            .function_name(function)
            .qualifier(version)
            .wait(max_wait)
            .await;
        match waited {
            Ok(done) => match done.as_result() {
                Ok(out) => Ok(published_version(out)),
                Err(e) => version_error(e),
            },
            // `Failed`: the last answer says why.
            Err(WaiterError::FailureState(failed)) => match failed.final_poll().as_result() {
                Ok(out) => Ok(published_version(out)),
                Err(e) if e.is_resource_not_found_exception() => Ok(PublishedVersion::Missing),
                Err(e) => Err(AliasError::Aws(rollout_usecases::ports::CallFailed {
                    operation: "GetFunctionConfiguration",
                    message: e.to_string(),
                    transient: false,
                })),
            },
            // One last look, to name the state it is still in.
            Err(WaiterError::ExceededMaxWait(_)) => self.version(function, version).await,
            Err(WaiterError::OperationFailed(failed)) => version_error(failed.error()),
            Err(other) => Err(AliasError::Aws(rollout_usecases::ports::CallFailed {
                operation: "GetFunctionConfiguration",
                message: other.to_string(),
                transient: false,
            })),
        }
    }

    async fn provisioned_concurrency(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<ProvisionedConcurrency>, AliasError> {
        let result = self
            .client
            .get_provisioned_concurrency_config()
            .function_name(function)
            .qualifier(alias)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                let service = e.as_service_error();
                if service
                    .is_some_and(|s| s.is_provisioned_concurrency_config_not_found_exception())
                {
                    return Ok(None);
                }
                let not_found = service.is_some_and(|s| s.is_resource_not_found_exception());
                return Err(alias_error(
                    "GetProvisionedConcurrencyConfig",
                    function,
                    alias,
                    &e,
                    Modeled {
                        not_found,
                        ..Default::default()
                    },
                ));
            }
        };
        let count = |n: Option<i32>| n.unwrap_or(0).max(0) as u32;
        Ok(Some(ProvisionedConcurrency {
            status: out.status().map_or("", |s| s.as_str()).to_string(),
            status_reason: out.status_reason().unwrap_or_default().to_string(),
            requested: count(out.requested_provisioned_concurrent_executions()),
            allocated: count(out.allocated_provisioned_concurrent_executions()),
        }))
    }
}

/// A version's configuration as the domain sees it. Older functions report no state;
/// Lambda treats those as `Active`.
fn published_version(out: &GetFunctionConfigurationOutput) -> PublishedVersion {
    PublishedVersion::Present(VersionConfig {
        state: out.state().unwrap_or(&State::Active).as_str().to_string(),
        state_reason_code: out
            .state_reason_code()
            .map_or("", |c| c.as_str())
            .to_string(),
        state_reason: out.state_reason().unwrap_or_default().to_string(),
        last_update_status: out
            .last_update_status()
            .unwrap_or(&LastUpdateStatus::Successful)
            .as_str()
            .to_string(),
        role: out.role().unwrap_or_default().to_string(),
        dead_letter_target: out
            .dead_letter_config()
            .and_then(|d| d.target_arn())
            .filter(|arn| !arn.is_empty())
            .map(String::from),
    })
}

/// A missing version is an answer ([`PublishedVersion::Missing`]); anything else an error.
fn version_error(
    e: &SdkError<GetFunctionConfigurationError, HttpResponse>,
) -> Result<PublishedVersion, AliasError> {
    if e.as_service_error()
        .is_some_and(|s| s.is_resource_not_found_exception())
    {
        return Ok(PublishedVersion::Missing);
    }
    let failed = call_failed("GetFunctionConfiguration", e);
    Err(AliasError::Aws(failed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::operation::update_alias::UpdateAliasError;
    use aws_sdk_lambda::types::error::PreconditionFailedException;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn update(version: &str, routing: Option<(&str, f64)>) -> AliasUpdate {
        AliasUpdate {
            version: version.into(),
            routing: routing.map(|(v, w)| (v.into(), w)),
            description: String::new(),
        }
    }

    #[tokio::test]
    async fn a_stale_revision_is_a_conflict() {
        let rule = mock!(Client::update_alias).then_error(|| {
            UpdateAliasError::PreconditionFailedException(
                PreconditionFailedException::builder()
                    .message("revision changed")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&rule]);
        let result = LambdaAliases::new(client)
            .update("f", "live", &update("6", Some(("7", 0.1))), "stale")
            .await;
        assert!(matches!(result, Err(AliasError::Conflict)), "{result:?}");
        assert_eq!(rule.num_calls(), 1);
    }

    /// Lambda's error answer as it sends it (restJson1: the code in `x-amzn-ErrorType`).
    fn lambda_error(status: u16, code: &str, message: &str) -> HttpResponse {
        let mut response = HttpResponse::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
            format!(r#"{{"Type":"User","Message":"{message}"}}"#).into(),
        );
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", code.to_string());
        response
            .headers_mut()
            .insert("content-type", "application/json");
        response
    }

    async fn update_failing_with(response: fn() -> HttpResponse) -> AliasError {
        let rule = mock!(Client::update_alias).then_http_response(response);
        let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&rule]);
        LambdaAliases::new(client)
            .update("orders", "live", &update("6", Some(("7", 0.1))), "r1")
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn access_denied_names_the_action_to_allow() {
        let failed = update_failing_with(|| {
            lambda_error(
                403,
                "AccessDeniedException",
                "User: arn:aws:sts::123456789012:assumed-role/ci/build is not authorized to \
                 perform: lambda:UpdateAlias on resource: arn:aws:lambda:eu-west-1:123456789012:\
                 function:orders:live because no identity-based policy allows the \
                 lambda:UpdateAlias action",
            )
        })
        .await;
        let text = failed.to_string();
        assert!(
            text.starts_with("Lambda UpdateAlias failed: access denied"),
            "{text}"
        );
        assert!(
            text.contains("allow lambda:UpdateAlias to the caller"),
            "{text}"
        );
        assert!(!failed.is_transient(), "{failed:?}");
    }

    #[tokio::test]
    async fn expired_and_unknown_credentials_say_what_to_refresh() {
        let expired = update_failing_with(|| {
            lambda_error(
                403,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            )
        })
        .await
        .to_string();
        assert!(
            expired.contains("session token has expired; refresh"),
            "{expired}"
        );
        let unknown = update_failing_with(|| {
            lambda_error(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        })
        .await
        .to_string();
        assert!(
            unknown.contains("does not accept these credentials (UnrecognizedClientException)"),
            "{unknown}"
        );
    }

    #[tokio::test]
    async fn invalid_routing_is_refused_without_calling_lambda() {
        let rule = mock!(Client::update_alias).then_output(|| {
            aws_sdk_lambda::operation::update_alias::UpdateAliasOutput::builder().build()
        });
        let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&rule]);
        // Lambda's routing rules themselves are tested in rollout-core's `alias`.
        let result = LambdaAliases::new(client)
            .update("f", "live", &update("6", Some(("7", 1.0))), "r1")
            .await;
        assert!(matches!(result, Err(AliasError::Invalid(_))), "{result:?}");
        assert_eq!(rule.num_calls(), 0);
    }

    /// GetProvisionedConcurrencyConfig's answers, as Lambda's API reference records them
    /// (the emulator allocates at once and never fails, so these are the evidence).
    #[tokio::test]
    async fn provisioned_concurrency_answers_map_with_their_reason() {
        use aws_sdk_lambda::operation::get_provisioned_concurrency_config::{
            GetProvisionedConcurrencyConfigError, GetProvisionedConcurrencyConfigOutput,
        };
        use aws_sdk_lambda::types::error::ProvisionedConcurrencyConfigNotFoundException;
        use aws_sdk_lambda::types::ProvisionedConcurrencyStatusEnum;
        let in_progress = mock!(Client::get_provisioned_concurrency_config).then_output(|| {
            GetProvisionedConcurrencyConfigOutput::builder()
                .status(ProvisionedConcurrencyStatusEnum::InProgress)
                .requested_provisioned_concurrent_executions(10)
                .allocated_provisioned_concurrent_executions(4)
                .build()
        });
        let failed = mock!(Client::get_provisioned_concurrency_config).then_output(|| {
            GetProvisionedConcurrencyConfigOutput::builder()
                .status(ProvisionedConcurrencyStatusEnum::Failed)
                .status_reason("FUNCTION_ERROR_INIT_FAILURE")
                .requested_provisioned_concurrent_executions(10)
                .build()
        });
        let none = mock!(Client::get_provisioned_concurrency_config).then_error(|| {
            GetProvisionedConcurrencyConfigError::ProvisionedConcurrencyConfigNotFoundException(
                ProvisionedConcurrencyConfigNotFoundException::builder()
                    .message("No Provisioned Concurrency Config found")
                    .build(),
            )
        });
        let client = mock_client!(
            aws_sdk_lambda,
            RuleMode::Sequential,
            [&in_progress, &failed, &none]
        );
        let aliases = LambdaAliases::new(client);
        let seen = aliases
            .provisioned_concurrency("f", "live")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.describe(), "10 requested, 4 allocated (IN_PROGRESS)");
        let seen = aliases
            .provisioned_concurrency("f", "live")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            seen.allocation(),
            rollout_core::provisioned::Allocation::Failed("FUNCTION_ERROR_INIT_FAILURE".into())
        );
        assert_eq!(
            aliases.provisioned_concurrency("f", "live").await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_version_carries_its_state_reason_role_and_dead_letter_target() {
        use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
        use aws_sdk_lambda::types::{DeadLetterConfig, StateReasonCode};
        let rule = mock!(Client::get_function_configuration).then_output(|| {
            GetFunctionConfigurationOutput::builder()
                .state(State::Pending)
                .state_reason_code(StateReasonCode::Creating)
                .state_reason("The function is being created.")
                .last_update_status(LastUpdateStatus::InProgress)
                .role("arn:aws:iam::1:role/r")
                .dead_letter_config(
                    DeadLetterConfig::builder()
                        .target_arn("arn:aws:sqs:q")
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&rule]);
        let seen = LambdaAliases::new(client).version("f", "2").await.unwrap();
        let config = seen.config().unwrap();
        assert_eq!(
            config.state_text(),
            "Pending (Creating: The function is being created)"
        );
        assert_eq!(config.role, "arn:aws:iam::1:role/r");
        assert_eq!(config.dead_letter_target.as_deref(), Some("arn:aws:sqs:q"));
    }
}
