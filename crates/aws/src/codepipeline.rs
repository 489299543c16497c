//! CodePipeline job results: success (with a continuation token while a rollout runs, with
//! output variables once promoted) or failure with its type and message.

use async_trait::async_trait;
use aws_sdk_codepipeline::types::{ExecutionDetails, FailureDetails, FailureType};
use aws_sdk_codepipeline::Client;
use rollout_usecases::ports::{FailureKind, JobResults, JobSuccess, PipelineError};

pub struct CodePipelineResults {
    client: Client,
}

impl CodePipelineResults {
    pub fn new(client: Client) -> Self {
        CodePipelineResults { client }
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        CodePipelineResults::new(Client::new(config))
    }
}

#[async_trait]
impl JobResults for CodePipelineResults {
    async fn success(&self, job_id: &str, result: JobSuccess) -> Result<(), PipelineError> {
        let details = ExecutionDetails::builder()
            .summary(result.summary)
            // None before a rollout has started (waiting for the version): no id yet.
            .set_external_execution_id(
                Some(result.external_execution_id).filter(|id| !id.is_empty()),
            )
            .percent_complete(result.percent_complete)
            .build();
        let mut request = self
            .client
            .put_job_success_result()
            .job_id(job_id)
            .execution_details(details)
            .set_continuation_token(result.continuation_token);
        for (name, value) in result.output_variables {
            request = request.output_variables(name, value);
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::call_failed("PutJobSuccessResult", &e))
    }

    async fn failure(
        &self,
        job_id: &str,
        kind: FailureKind,
        message: &str,
    ) -> Result<(), PipelineError> {
        let failure_type = match kind {
            FailureKind::ConfigurationError => FailureType::ConfigurationError,
            FailureKind::JobFailed => FailureType::JobFailed,
        };
        // CodePipeline accepts at most 5000 characters of message.
        let message: String = message.chars().take(5000).collect();
        let details = FailureDetails::builder()
            .r#type(failure_type)
            .message(message)
            .build()
            .map_err(|e| PipelineError {
                operation: "PutJobFailureResult",
                message: e.to_string(),
                transient: false,
            })?;
        self.client
            .put_job_failure_result()
            .job_id(job_id)
            .failure_details(details)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::call_failed("PutJobFailureResult", &e))
    }
}
