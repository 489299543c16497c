//! The one place the command line's `--region` and `--profile` become the SDK's
//! configuration, so every command reaches AWS the same way.

use rollout_aws::{load_config_for, Adapters, AwsTarget, SdkConfig};

use rollout_core::validate::{check_alias, check_function_name, check_topic_arn};
use rollout_core::InvalidField;

use crate::args::{as_flags, Global};
use crate::exit::CommandError;

/// The SDK adapters for this invocation, with every channel its flags configure; a bad
/// channel or no region at all is refused here, before any call.
pub async fn adapters(global: &Global) -> Result<Adapters, CommandError> {
    Ok(adapters_and_config(global).await?.0)
}

/// The adapters (as [`adapters`]) and the configuration they were built from, for a command
/// that may meet a release set: its members elsewhere are reached from that configuration.
pub async fn adapters_and_config(global: &Global) -> Result<(Adapters, SdkConfig), CommandError> {
    let channels = global.channels()?;
    let config = config(global).await?;
    Ok((Adapters::with_channels(&config, &channels), config))
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

/// The adapters for a command that changes an alias for an operator (`abort`, `pause`,
/// `resume`, `promote`), once what it names has been checked: the function, the alias, and
/// the topic (its form, then that it can be published to), all before the alias is touched.
/// With the configuration, for the members of a set the alias may be in.
pub async fn operator_adapters(
    global: &Global,
    function: &str,
    alias: &str,
    topic: Option<&str>,
) -> Result<(Adapters, SdkConfig), CommandError> {
    check_function_name(function).map_err(as_flags)?;
    check_alias(alias).map_err(as_flags)?;
    if let Some(topic) = topic {
        check_topic_arn("--topic", topic)?;
    }
    let (adapters, config) = adapters_and_config(global).await?;
    if let Some(topic) = topic {
        adapters
            .driver("rollout-cli", &[], None)
            .topic_usable(topic)
            .await
            .map_err(|why| InvalidField::new("--topic", why))?;
    }
    Ok((adapters, config))
}
