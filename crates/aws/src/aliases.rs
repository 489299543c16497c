//! The traffic router: a Lambda alias, read with its RevisionId and only ever updated with
//! the RevisionId the caller last saw; plus what Lambda says of a version.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, LastUpdateStatus, State};
use aws_sdk_lambda::Client;

use rollout_core::{AliasState, AliasUpdate, TargetVersion};
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
        },
        _ => {
            let failed = call_failed(operation, err);
            AliasError::Aws {
                operation: failed.operation,
                message: failed.message,
                transient: failed.transient,
            }
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

    async fn version(&self, function: &str, version: &str) -> Result<TargetVersion, AliasError> {
        let result = self
            .client
            .get_function_configuration()
            .function_name(function)
            .qualifier(version)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(TargetVersion::Missing)
            }
            Err(e) => {
                let failed = call_failed("GetFunctionConfiguration", &e);
                return Err(AliasError::Aws {
                    operation: failed.operation,
                    message: failed.message,
                    transient: failed.transient,
                });
            }
        };
        // Older functions report no state; Lambda treats those as Active.
        Ok(TargetVersion::Present {
            state: out.state().unwrap_or(&State::Active).as_str().to_string(),
            last_update_status: out
                .last_update_status()
                .unwrap_or(&LastUpdateStatus::Successful)
                .as_str()
                .to_string(),
        })
    }
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
}
