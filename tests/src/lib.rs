//! Test support for the workspace's integration tests: a private [`Ministack`]
//! (local AWS emulator) per test, a [`RecordingStub`] standing in for the
//! AWS services no emulator has (CodeDeploy, CodePipeline), in-memory Lambda
//! deployment packages ([`lambda_zip`]), host paths and plain-TCP helpers
//! ([`host`]), reading back a written report ([`report_html`]) and the shared SDK
//! configuration ([`sdk_config`]). Every test binary starts from one [`Setup`] and steps
//! rollouts by the [`clock`].

pub mod clock;
pub mod deployment;
pub mod events;
pub mod faults;
pub mod fixture;
pub mod host;
pub mod lambda_zip;
pub mod ministack;
pub mod report_html;
pub mod setup;
pub mod stub;
pub mod webhook;

pub use ministack::Ministack;
pub use setup::Setup;
pub use stub::{Recorded, RecordingStub};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::config::{Credentials, SharedCredentialsProvider};

/// The dummy credentials every local endpoint accepts.
pub const ACCESS_KEY_ID: &str = "test";
/// See [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "test";
/// The region the emulator and the stubs are used in.
pub const REGION: &str = "us-east-1";

/// SDK configuration for a local endpoint: `endpoint_url`, static test
/// credentials, [`REGION`], the latest behaviour version. Built directly, so
/// nothing on the host (env, `~/.aws`) can leak in.
pub fn sdk_config(endpoint_url: &str) -> SdkConfig {
    let credentials = Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "tests");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint_url)
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build()
}
