//! The CodeDeploy traffic hooks against ministack (the target function, alarms, SNS) and the
//! recording CodeDeploy stub (GetDeployment, and the answer every hook owes). In-process
//! tests drive the hook library; `binaries` runs the real functions through the Runtime API.

mod binaries;
mod post;
mod pre;

use std::ops::Deref;
use std::time::Duration;

use rollout_aws::codedeploy::CodeDeployments;
use rollout_testkit::deployment::{answers, appspec_yaml, get_deployment, hook_event};
use rollout_testkit::RecordingStub;
use rollout_usecases::hooks::{Hook, HookError, HookKind, HookReport, HookSettings};
use serde_json::Value;

pub const DEPLOYMENT: &str = "d-HOOKTEST1";

/// One emulator with `orders` (versions 1 and 2, alias `live` on 1), an OK alarm
/// `orders-errors`, a topic with a subscriber, and a CodeDeploy stub whose deployment moves
/// `orders:live` from 1 to 2.
pub struct Setup {
    setup: rollout_testkit::Setup,
    pub stub: RecordingStub,
}

impl Deref for Setup {
    type Target = rollout_testkit::Setup;

    fn deref(&self) -> &rollout_testkit::Setup {
        &self.setup
    }
}

impl Setup {
    pub async fn new() -> Setup {
        let setup = rollout_testkit::Setup::new().await;
        setup.function("orders").await;
        let stub = RecordingStub::start([(
            "GetDeployment",
            200,
            get_deployment(DEPLOYMENT, &appspec_yaml("orders", "live", "1", "2")),
        )]);
        Setup { setup, stub }
    }

    /// The deployment's revision from now on.
    pub fn appspec(&self, appspec: &str) {
        self.stub
            .respond("GetDeployment", 200, get_deployment(DEPLOYMENT, appspec));
    }

    /// A hook of `kind` configured by `env` (plus the topic), talking to ministack and the
    /// stub; the bake polls every 200 ms.
    pub fn hook(&self, kind: HookKind, env: &[(&str, &str)]) -> Hook {
        let topic = self.world.topic_arn.clone();
        let mut settings = HookSettings::from_lookup(&|name: &str| {
            if name == "NOTIFICATION_TOPIC_ARN" {
                return Some(topic.clone());
            }
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .expect("valid settings");
        settings.poll = Duration::from_millis(200);
        let mut hook = rollout_aws::hook(kind, &self.stack.sdk_config(), Ok(settings));
        hook.deployments = Box::new(CodeDeployments::new(aws_sdk_codedeploy::Client::new(
            &self.stub.sdk_config(),
        )));
        hook
    }

    /// Runs `hook` on the deployment's event with `seconds` left in the invocation.
    pub async fn run(&self, hook: &Hook, seconds: u64) -> Result<HookReport, HookError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        hook.answer_by(hook_event(DEPLOYMENT), deadline).await
    }

    /// What the hooks answered CodeDeploy so far.
    pub fn answers(&self) -> Vec<String> {
        answers(&self.stub, DEPLOYMENT)
    }

    /// The one notification published so far.
    pub async fn notification(&self) -> Value {
        let mut all = self.world.notifications().await;
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }
}
