//! What lambda-rollout does, over ports. The decisions are the pure core's
//! (`rollout-core`); this crate observes, carries them out, and reports, through the small
//! traits in [`ports`] that `rollout-aws` implements with the AWS SDK.
//!
//! - [`announce`]: every event to every channel configured, after the alias is safe.
//! - [`driver`]: start, step and stop a rollout (read, decide, write with the RevisionId,
//!   then notify).
//! - [`set`]: release sets, several aliases moved in lockstep and put back together.
//! - [`shifter`]: the traffic-shifter function's requests (a spec, a state, an abort) and
//!   its settings.
//! - [`pipeline`]: the CodePipeline action, with its continuation token.
//! - [`alarm_rollback`]: the alarm-rollback function, from an alarm to the aliases it guards.
//! - [`hooks`]: the CodeDeploy traffic hooks.
//! - [`canary_judge`]: the scheduled judge, `CanaryVerdict` for aliases CodeDeploy shifts.
//! - [`readiness`]: the one wait for a target version to be `Active`, used by every entry point.
//! - [`check`]: `rollout check`, every pre-flight check of a start plus the alias's wiring.
//! - [`failure`]: the one mapping from every error to Lambda's `errorType`.
//!
//! The functions' handlers (the Lambda event in, Lambda's `Diagnostic` out) live in their own
//! crates, `functions/<name>`, tested there on the fakes in `testing` (feature `test-util`).

pub mod alarm_rollback;
pub mod announce;
pub mod canary_judge;
pub mod check;
pub mod driver;
pub mod failure;
pub mod hooks;
pub mod patience;
pub mod pipeline;
pub mod ports;
pub mod readiness;
pub mod request;
pub mod set;
pub mod settings;
pub mod shifter;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
