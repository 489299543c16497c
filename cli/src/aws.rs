//! The one place the command line's `--region` and `--profile` become the SDK's
//! configuration, so every command reaches AWS the same way.

use rollout_aws::{load_config_for, Adapters, AwsTarget};

use crate::args::Global;
use crate::exit::CommandError;

/// The SDK adapters for this invocation; no region at all is refused here, before any call.
pub async fn adapters(global: &Global) -> Result<Adapters, CommandError> {
    let target = AwsTarget {
        region: global.region.clone(),
        profile: global.profile.clone(),
    };
    Ok(Adapters::new(&load_config_for(&target).await?))
}
