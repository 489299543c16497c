//! The account every integration test starts from: a fresh [`Ministack`], its [`World`], and
//! the SDK-backed [`Adapters`] the functions and the CLI build. A test binary adds only what
//! is its own (a stub, a proxy, a driver on a moved clock).

use aws_config::SdkConfig;
use rollout_aws::Adapters;
use rollout_core::Spec;

use crate::fixture::World;
use crate::Ministack;

pub struct Setup {
    pub stack: Ministack,
    pub world: World,
    pub adapters: Adapters,
}

impl Setup {
    /// A fresh emulator and its world; the adapters call the emulator directly.
    pub async fn new() -> Setup {
        let stack = Ministack::start().await;
        let config = stack.sdk_config();
        Setup::calling(stack, &config).await
    }

    /// `stack` and its world; the adapters call `config`'s endpoint instead (a proxy in front
    /// of the emulator). The world's own clients always reach the emulator directly.
    pub async fn calling(stack: Ministack, config: &SdkConfig) -> Setup {
        let world = World::new(&stack).await;
        Setup {
            adapters: Adapters::new(config),
            stack,
            world,
        }
    }

    /// `name` with versions 1 and 2 behind `live` on 1, and its Errors alarm `<name>-errors`,
    /// OK; the alarm's name.
    pub async fn function(&self, name: &str) -> String {
        self.world.function_with_two_versions(name).await;
        let alarm = format!("{name}-errors");
        self.world.alarm(&alarm, name, None).await;
        alarm
    }

    /// `function`'s `live` to version 2 by `strategy`, told on the world's topic.
    pub fn spec(&self, function: &str, strategy: &str) -> Spec {
        Spec::new(function, "live", "2", strategy).topic(&self.world.topic_arn)
    }
}
