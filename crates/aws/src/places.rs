//! Where a release set's members are: the caller's own adapters, or those of another region
//! or account (a member's `roleArn` assumed through STS, the SDK's identity cache keeping and
//! refreshing the credentials), built once per region and role and kept for the process.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_async::rt::sleep::default_async_sleep;
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource};
use rollout_core::set::MemberSpec;
use rollout_usecases::ports::{CallFailed, Place, Places};

use crate::{alarms, aliases, metrics, Adapters, Clients};

/// The adapters of one region and role.
struct Elsewhere {
    aliases: aliases::LambdaAliases,
    alarms: alarms::CloudWatchAlarms,
    metrics: metrics::CloudWatchMetrics,
}

impl Elsewhere {
    fn place(&self) -> Place<'_> {
        Place {
            aliases: &self.aliases,
            alarms: &self.alarms,
            metrics: &self.metrics,
        }
    }
}

/// A region (when not the caller's) and a role (when one is assumed).
type Key = (Option<String>, Option<String>);

/// The SDK-backed [`Places`]: `home` for members in the caller's region with no role.
pub struct AwsPlaces<'a> {
    home: Place<'a>,
    sdk: SdkConfig,
    /// Built once per (region, role) and kept: a process meets a handful at most.
    built: Mutex<HashMap<Key, &'static Elsewhere>>,
}

impl<'a> AwsPlaces<'a> {
    pub fn new(home: &'a Adapters, sdk: &SdkConfig) -> Self {
        // STS's credentials provider needs a clock and a sleep; a configuration built by hand
        // (not by `aws_config::load`) may lack them, and the provider would panic without.
        let (has_clock, has_sleep) = (sdk.time_source().is_some(), sdk.sleep_impl().is_some());
        let mut builder = sdk.clone().into_builder();
        if !has_clock {
            builder.set_time_source(Some(SharedTimeSource::new(SystemTimeSource::new())));
        }
        if !has_sleep {
            builder.set_sleep_impl(default_async_sleep());
        }
        let sdk = builder.build();
        AwsPlaces {
            home: Place {
                aliases: &home.aliases,
                alarms: &home.alarms,
                metrics: &home.metrics,
            },
            sdk,
            built: Mutex::default(),
        }
    }
}

#[async_trait]
impl Places for AwsPlaces<'_> {
    fn home_region(&self) -> Option<String> {
        self.sdk.region().map(|r| r.to_string())
    }

    async fn place(&self, member: &MemberSpec) -> Result<Place<'_>, CallFailed> {
        let home_region = self.sdk.region().map(|r| r.to_string());
        let region = member
            .region
            .clone()
            .or(member.arn_region().map(String::from))
            .filter(|r| Some(r) != home_region.as_ref());
        if region.is_none() && member.role_arn.is_none() {
            return Ok(self.home);
        }
        let key = (region.clone(), member.role_arn.clone());
        if let Some(built) = self
            .built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(built.place());
        }
        let mut config = self.sdk.to_builder();
        if let Some(region) = &region {
            config.set_region(Some(Region::new(region.clone())));
        }
        if let Some(role) = &member.role_arn {
            let provider = AssumeRoleProvider::builder(role.clone())
                .session_name("lambda-rollout")
                .configure(&self.sdk)
                .build()
                .await;
            // Assumed once now, so that a start names the member whose role cannot be.
            provider
                .provide_credentials()
                .await
                .map_err(|e| CallFailed {
                    operation: "AssumeRole",
                    message: aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
                    transient: false,
                })?;
            config.set_credentials_provider(Some(SharedCredentialsProvider::new(provider)));
        }
        let clients = Clients::new(&config.build());
        let elsewhere: &'static Elsewhere = Box::leak(Box::new(Elsewhere {
            aliases: clients.aliases(),
            alarms: clients.alarms(),
            metrics: clients.metrics(),
        }));
        self.built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, elsewhere);
        Ok(elsewhere.place())
    }
}
