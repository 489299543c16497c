//! The rollout domain, pure: everything lambda-rollout decides, with no I/O, no clock, no
//! `await`. The compiler keeps it so: this crate depends on neither tokio nor the AWS SDK.
//!
//! - [`plan`]: a strategy's steps (CodeDeploy and SAM names, general forms, custom lists).
//! - [`state`]: the spec that starts a rollout and the progress it accumulates.
//! - [`validate`]: bad input, named; the checks for function, alias, version and topic names.
//! - [`alias`], [`alarms`], [`version`], [`provisioned`]: what the engine is shown of the
//!   world, and the rules on it (routing, alarms, readiness, what a weighted alias needs,
//!   provisioned concurrency).
//! - [`wiring`]: what invokes a function other than through the alias a rollout moves.
//! - [`marker`]: the codec of what a rollout writes into its alias's description.
//! - [`judgement`]: the spec's `analysis` and the verdict on a step from per-version metrics.
//! - [`engine`]: start, decide, reconcile, and the state each decision leads to.
//! - [`notification`]: what people are told, for every event.
//! - [`settings`]: parsers for the functions' environment variables.
//! - [`dashboard`], [`report`]: what people look at: the CloudWatch dashboard body of an
//!   alias, and the self-contained HTML report of a rollout's timeline.
//! - [`printable`]: text from AWS or a marker made safe to show on a terminal or a page.

pub mod alarms;
pub mod alias;
pub mod dashboard;
pub mod engine;
pub mod fields;
pub mod judgement;
pub mod marker;
pub mod notification;
pub mod plan;
pub mod printable;
pub mod provisioned;
pub mod report;
pub mod settings;
pub mod state;
pub mod validate;
pub mod version;
pub mod wiring;

pub use alarms::{AlarmState, AlarmVerdict};
pub use alias::{AliasState, AliasUpdate};
pub use engine::{AliasCheck, Check, Decision, Observed, Refusal, Start};
pub use judgement::{Analysis, Judgement, Verdict, VersionMetrics};
pub use marker::Marker;
pub use notification::{EventKind, Notification};
pub use plan::{Plan, Step, StrategyError};
pub use provisioned::{ProvisionedConcurrency, Provisioning};
pub use state::{Rollout, Spec, Status, WeightAt};
pub use validate::InvalidField;
pub use version::{PublishedVersion, Readiness, VersionConfig};
