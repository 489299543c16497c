//! CloudWatch dashboards: `rollout dashboard` writes one with PutDashboard, which creates it
//! or replaces it whole (writing it again is harmless: a lost answer is retried as is).

use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use rollout_usecases::ports::{CallFailed, Dashboards};

pub struct CloudWatchDashboards {
    client: Client,
}

impl CloudWatchDashboards {
    pub fn new(client: Client) -> Self {
        CloudWatchDashboards { client }
    }
}

#[async_trait]
impl Dashboards for CloudWatchDashboards {
    /// Writes the dashboard; returns what CloudWatch found wrong with the body
    /// (`DashboardValidationMessages`: `dataPath: message`), empty when nothing.
    async fn put(&self, name: &str, body: &str) -> Result<Vec<String>, CallFailed> {
        let out = self
            .client
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(body)
            .send()
            .await
            .map_err(|e| crate::call_failed("PutDashboard", &e))?;
        Ok(out
            .dashboard_validation_messages()
            .iter()
            .map(|m| {
                format!(
                    "{}: {}",
                    m.data_path().unwrap_or("(body)"),
                    m.message().unwrap_or_default()
                )
            })
            .collect())
    }
}
