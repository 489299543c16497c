//! The one place the command line's `--region` and `--profile` become the SDK's
//! configuration, so every command reaches AWS the same way.

use rollout_aws::{load_config_for, Adapters, AwsTarget, SdkConfig};

use crate::args::Global;
use crate::exit::CommandError;

/// The SDK adapters for this invocation; no region at all is refused here, before any call.
pub async fn adapters(global: &Global) -> Result<Adapters, CommandError> {
    Ok(Adapters::new(&config(global).await?))
}

/// The SDK's configuration for this invocation, for a command that needs more than the
/// adapters (a client of its own, the region it resolved).
pub async fn config(global: &Global) -> Result<SdkConfig, CommandError> {
    let target = AwsTarget {
        region: global.region.clone(),
        profile: global.profile.clone(),
    };
    Ok(load_config_for(&target).await?)
}
