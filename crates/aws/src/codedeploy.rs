//! CodeDeploy, as a traffic hook sees it: the AppSpec of the deployment that invoked the hook,
//! and the one answer the hook owes it (`PutLifecycleEventHookExecutionStatus`).

use async_trait::async_trait;
use aws_sdk_codedeploy::types::LifecycleEventStatus;
use aws_sdk_codedeploy::Client;

use rollout_usecases::ports::{Answered, DeploymentError, Deployments};

/// The SDK-backed CodeDeploy adapter.
pub struct CodeDeployments {
    client: Client,
}

impl CodeDeployments {
    pub fn new(client: Client) -> Self {
        CodeDeployments { client }
    }
}

#[async_trait]
impl Deployments for CodeDeployments {
    async fn appspec(&self, deployment_id: &str) -> Result<String, DeploymentError> {
        let out = self
            .client
            .get_deployment()
            .deployment_id(deployment_id)
            .send()
            .await
            .map_err(|e| DeploymentError::Aws(crate::call_failed("GetDeployment", &e)))?;
        let revision = out.deployment_info().and_then(|d| d.revision());
        // SAM and CloudFormation send `AppSpecContent`; the older `String` type carries the same.
        let content = revision.and_then(|r| {
            r.app_spec_content()
                .and_then(|a| a.content())
                .or_else(|| r.string().and_then(|s| s.content()))
        });
        match content {
            Some(text) if !text.trim().is_empty() => Ok(text.to_string()),
            _ => Err(DeploymentError::NoAppSpec {
                deployment_id: deployment_id.into(),
                revision_type: revision
                    .and_then(|r| r.revision_type())
                    .map_or("none", |t| t.as_str())
                    .to_string(),
            }),
        }
    }

    async fn report(
        &self,
        deployment_id: &str,
        hook_execution_id: &str,
        succeeded: bool,
    ) -> Result<Answered, DeploymentError> {
        let status = if succeeded {
            LifecycleEventStatus::Succeeded
        } else {
            LifecycleEventStatus::Failed
        };
        let result = self
            .client
            .put_lifecycle_event_hook_execution_status()
            .deployment_id(deployment_id)
            .lifecycle_event_hook_execution_id(hook_execution_id)
            .status(status)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Answered::Now),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_lifecycle_event_already_completed_exception()) =>
            {
                Ok(Answered::Already)
            }
            Err(e) => Err(DeploymentError::Aws(crate::call_failed(
                "PutLifecycleEventHookExecutionStatus",
                &e,
            ))),
        }
    }

    /// Two calls, only on a retried hook: the deployment's targets (one for a Lambda
    /// deployment), then their lifecycle events.
    async fn earlier_answer(
        &self,
        deployment_id: &str,
        lifecycle_event: &str,
    ) -> Result<Option<bool>, DeploymentError> {
        let listed = self
            .client
            .list_deployment_targets()
            .deployment_id(deployment_id)
            .send()
            .await
            .map_err(|e| DeploymentError::Aws(crate::call_failed("ListDeploymentTargets", &e)))?;
        let ids = listed.target_ids().to_vec();
        if ids.is_empty() {
            return Ok(None);
        }
        let targets = self
            .client
            .batch_get_deployment_targets()
            .deployment_id(deployment_id)
            .set_target_ids(Some(ids))
            .send()
            .await
            .map_err(|e| {
                DeploymentError::Aws(crate::call_failed("BatchGetDeploymentTargets", &e))
            })?;
        let status = targets
            .deployment_targets()
            .iter()
            .filter_map(|t| t.lambda_target())
            .flat_map(|t| t.lifecycle_events())
            .find(|e| e.lifecycle_event_name() == Some(lifecycle_event))
            .and_then(|e| e.status());
        Ok(match status {
            Some(LifecycleEventStatus::Succeeded) => Some(true),
            Some(LifecycleEventStatus::Failed) => Some(false),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codedeploy::operation::get_deployment::{GetDeploymentError, GetDeploymentOutput};
    use aws_sdk_codedeploy::operation::put_lifecycle_event_hook_execution_status::PutLifecycleEventHookExecutionStatusError;
    use aws_sdk_codedeploy::types::error::LifecycleEventAlreadyCompletedException;
    #[allow(deprecated)]
    use aws_sdk_codedeploy::types::RawString;
    use aws_sdk_codedeploy::types::{
        AppSpecContent, DeploymentInfo, RevisionLocation, RevisionLocationType,
    };
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn deployment(revision: RevisionLocation) -> GetDeploymentOutput {
        GetDeploymentOutput::builder()
            .deployment_info(DeploymentInfo::builder().revision(revision).build())
            .build()
    }

    #[tokio::test]
    #[allow(deprecated)] // the `String` revision type is deprecated, and still accepted
    async fn reads_the_appspec_from_either_revision_type() {
        let content = RevisionLocation::builder()
            .revision_type(RevisionLocationType::AppSpecContent)
            .app_spec_content(AppSpecContent::builder().content("version: 0.0").build())
            .build();
        let string = RevisionLocation::builder()
            .revision_type(RevisionLocationType::String)
            .string(RawString::builder().content("{\"version\": 0.0}").build())
            .build();
        let first = mock!(Client::get_deployment).then_output(move || deployment(content.clone()));
        let second = mock!(Client::get_deployment).then_output(move || deployment(string.clone()));
        let client = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&first, &second]);
        let deployments = CodeDeployments::new(client);
        assert_eq!(deployments.appspec("d-1").await.unwrap(), "version: 0.0");
        assert_eq!(
            deployments.appspec("d-1").await.unwrap(),
            "{\"version\": 0.0}"
        );
    }

    #[tokio::test]
    async fn a_revision_without_appspec_text_is_named() {
        let s3 = RevisionLocation::builder()
            .revision_type(RevisionLocationType::S3)
            .build();
        let rule = mock!(Client::get_deployment).then_output(move || deployment(s3.clone()));
        let client = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&rule]);
        let err = CodeDeployments::new(client)
            .appspec("d-1")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "deployment d-1 has no AppSpec content (revision type S3)"
        );
    }

    #[tokio::test]
    async fn a_failed_get_deployment_names_the_operation() {
        let rule = mock!(Client::get_deployment)
            .then_error(|| GetDeploymentError::unhandled(std::io::Error::other("AccessDenied")));
        let client = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&rule]);
        let err = CodeDeployments::new(client)
            .appspec("d-1")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                DeploymentError::Aws(rollout_usecases::ports::CallFailed {
                    operation: "GetDeployment",
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn an_answer_codedeploy_already_has_is_not_an_error() {
        let rule = mock!(Client::put_lifecycle_event_hook_execution_status).then_error(|| {
            PutLifecycleEventHookExecutionStatusError::LifecycleEventAlreadyCompletedException(
                LifecycleEventAlreadyCompletedException::builder()
                    .message("already completed")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&rule]);
        let answered = CodeDeployments::new(client)
            .report("d-1", "hook-1", true)
            .await;
        assert_eq!(answered, Ok(Answered::Already));
    }

    #[tokio::test]
    async fn a_refused_answer_is_an_error() {
        let rule = mock!(Client::put_lifecycle_event_hook_execution_status).then_error(|| {
            PutLifecycleEventHookExecutionStatusError::unhandled(std::io::Error::other(
                "AccessDenied",
            ))
        });
        let client = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&rule]);
        let answered = CodeDeployments::new(client)
            .report("d-1", "hook-1", false)
            .await;
        assert!(matches!(answered, Err(DeploymentError::Aws(_))));
    }

    #[tokio::test]
    async fn the_earlier_answer_is_read_from_the_targets_lifecycle_events() {
        use aws_sdk_codedeploy::operation::batch_get_deployment_targets::BatchGetDeploymentTargetsOutput;
        use aws_sdk_codedeploy::operation::list_deployment_targets::ListDeploymentTargetsOutput;
        use aws_sdk_codedeploy::types::{DeploymentTarget, LambdaTarget, LifecycleEvent};
        let event = |name: &str, status: LifecycleEventStatus| {
            LifecycleEvent::builder()
                .lifecycle_event_name(name)
                .status(status)
                .build()
        };
        let target = LambdaTarget::builder()
            .lifecycle_events(event("BeforeAllowTraffic", LifecycleEventStatus::Failed))
            .lifecycle_events(event("AfterAllowTraffic", LifecycleEventStatus::Pending))
            .build();
        let list = || {
            mock!(Client::list_deployment_targets).then_output(|| {
                ListDeploymentTargetsOutput::builder()
                    .target_ids("orders:live")
                    .build()
            })
        };
        let batch = || {
            let target = target.clone();
            mock!(Client::batch_get_deployment_targets).then_output(move || {
                BatchGetDeploymentTargetsOutput::builder()
                    .deployment_targets(
                        DeploymentTarget::builder()
                            .lambda_target(target.clone())
                            .build(),
                    )
                    .build()
            })
        };
        let (l1, b1, l2, b2) = (list(), batch(), list(), batch());
        let client = mock_client!(
            aws_sdk_codedeploy,
            RuleMode::Sequential,
            [&l1, &b1, &l2, &b2]
        );
        let deployments = CodeDeployments::new(client);
        assert_eq!(
            deployments
                .earlier_answer("d-1", "BeforeAllowTraffic")
                .await
                .unwrap(),
            Some(false)
        );
        // Still pending: CodeDeploy does not say, so nothing is claimed.
        assert_eq!(
            deployments
                .earlier_answer("d-1", "AfterAllowTraffic")
                .await
                .unwrap(),
            None
        );
    }
}
