//! What invokes a function, as Lambda lists it: event source mappings, function URL configs
//! and resource-policy statements (the function's own and each alias's), each with the
//! qualifier it is bound to. `rollout check` reads them; nothing here judges them.

use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_lambda::Client;
use serde_json::Value;

use rollout_core::validate::short_function_name;
use rollout_core::wiring::{function_of, qualifier_of, Trigger, TriggerKind};
use rollout_usecases::ports::{AliasError, AliasStore, Triggers};

use crate::aliases::LambdaAliases;
use rollout_usecases::ports::CallFailed;

use crate::call_failed;

/// The SDK-backed trigger listing.
pub struct LambdaTriggers {
    client: Client,
}

impl LambdaTriggers {
    pub fn new(client: Client) -> Self {
        LambdaTriggers { client }
    }

    /// Every event source mapping of the account whose function is `name` (listed without
    /// a filter, so mappings bound to any version or alias are found too).
    async fn event_source_mappings(&self, name: &str) -> Result<Vec<Trigger>, AliasError> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .list_event_source_mappings()
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws(call_failed("ListEventSourceMappings", &e)))?;
            for mapping in page.event_source_mappings() {
                let arn = mapping.function_arn().unwrap_or_default();
                if function_of(arn) != name {
                    continue;
                }
                found.push(Trigger {
                    kind: TriggerKind::EventSourceMapping,
                    id: mapping.uuid().unwrap_or_default().to_string(),
                    source: mapping
                        .event_source_arn()
                        .unwrap_or("an event source")
                        .to_string(),
                    source_arn: None,
                    qualifier: qualifier_of(arn),
                });
            }
        }
        Ok(found)
    }

    async fn function_urls(&self, function: &str) -> Result<Vec<Trigger>, AliasError> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .list_function_url_configs()
            .function_name(function)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws(call_failed("ListFunctionUrlConfigs", &e)))?;
            for url in page.function_url_configs() {
                found.push(Trigger {
                    kind: TriggerKind::FunctionUrl,
                    id: url.function_url().to_string(),
                    source: url.auth_type().as_str().to_string(),
                    source_arn: None,
                    qualifier: qualifier_of(url.function_arn()),
                });
            }
        }
        Ok(found)
    }

    /// The statements of the policy of `function` at `qualifier` (none when it has no policy).
    async fn policy(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<Vec<Trigger>, AliasError> {
        let result = self
            .client
            .get_policy()
            .function_name(function)
            .set_qualifier(qualifier.map(String::from))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(Vec::new())
            }
            Err(e) => return Err(aws(call_failed("GetPolicy", &e))),
        };
        let policy: Value = serde_json::from_str(out.policy().unwrap_or("{}")).map_err(|e| {
            aws(CallFailed {
                operation: "GetPolicy",
                message: format!("the policy is not JSON: {e}"),
                transient: false,
            })
        })?;
        Ok(statements(&policy))
    }
}

#[async_trait]
impl Triggers for LambdaTriggers {
    async fn triggers(&self, function: &str) -> Result<Vec<Trigger>, AliasError> {
        let name = short_function_name(function);
        let mut found = self.event_source_mappings(name).await?;
        found.extend(self.function_urls(function).await?);
        // Each alias has a policy of its own; the unqualified one also covers $LATEST.
        let aliases = LambdaAliases::new(self.client.clone())
            .list(function)
            .await?;
        let mut seen = HashSet::new();
        for qualifier in std::iter::once(None).chain(aliases.iter().map(|a| Some(a.as_str()))) {
            for statement in self.policy(function, qualifier).await? {
                if seen.insert((statement.id.clone(), statement.qualifier.clone())) {
                    found.push(statement);
                }
            }
        }
        Ok(found)
    }
}

/// A resource policy's statements that allow invoking, as triggers.
fn statements(policy: &Value) -> Vec<Trigger> {
    let list = match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        _ => Vec::new(),
    };
    list.iter()
        .filter(|s| s["Effect"] != "Deny")
        .map(|s| {
            let principal = match &s["Principal"] {
                Value::String(p) => p.clone(),
                Value::Object(map) => map
                    .values()
                    .map(|v| match v {
                        Value::String(p) => p.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                _ => "*".into(),
            };
            let source_arn = s["Condition"]
                .as_object()
                .into_iter()
                .flat_map(|conditions| conditions.values())
                .find_map(|c| c["AWS:SourceArn"].as_str())
                .map(String::from);
            Trigger {
                kind: TriggerKind::Permission,
                id: s["Sid"].as_str().unwrap_or("(no Sid)").to_string(),
                source: principal,
                source_arn,
                qualifier: qualifier_of(s["Resource"].as_str().unwrap_or_default()),
            }
        })
        .collect()
}

fn aws(failed: CallFailed) -> AliasError {
    AliasError::Aws(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_statement_names_its_principal_source_and_qualifier() {
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
             "Action": "lambda:InvokeFunction",
             "Resource": "arn:aws:lambda:us-east-1:000000000000:function:orders",
             "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"}}},
            {"Sid": "apigw", "Effect": "Allow", "Principal": "apigateway.amazonaws.com",
             "Resource": "arn:aws:lambda:us-east-1:000000000000:function:orders:live"}
        ]});
        let found = statements(&policy);
        assert_eq!(found.len(), 2);
        assert_eq!(
            (
                found[0].source.as_str(),
                found[0].source_arn.as_deref(),
                found[0].qualifier.as_deref()
            ),
            ("s3.amazonaws.com", Some("arn:aws:s3:::uploads"), None)
        );
        assert_eq!(found[1].qualifier.as_deref(), Some("live"));
    }
}
