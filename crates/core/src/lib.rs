//! The rollout domain, pure: everything lambda-rollout decides, with no I/O, no clock, no
//! `await`. The compiler keeps it so: this crate depends on neither tokio nor the AWS SDK.
//!
//! Read it in this order: each module uses only modules listed before it (`tests.rs` fails
//! on a use out of order, and on any import circle).
//!
//! - [`validate`]: bad input, named; the checks for function, alias, version and topic names.
//!   With it, two helpers: [`fields`] (a struct's serde field names) and [`printable`] (text
//!   from AWS or a marker made safe to show on a terminal or a page).
//! - [`plan`]: a strategy's steps (CodeDeploy and SAM names, general forms, custom lists).
//! - [`alias`], [`alarms`], [`version`], [`provisioned`], [`wiring`], [`judgement`]: what the
//!   engine is shown of the world, and the rules on it (routing, alarms, readiness, what a
//!   weighted alias needs, provisioned concurrency, what invokes a function other than
//!   through its alias); the spec's `analysis` and the verdict on a step from per-version
//!   metrics.
//! - [`state`]: the spec that starts a rollout and the progress it accumulates, an
//!   operator's [`Control`](state::Control) included.
//! - [`marker`]: the codec of what a rollout writes into its alias's description.
//! - [`set`]: release sets, several aliases moved as one release: the set spec and state,
//!   each member as a one-function rollout, the ring of links in the members' markers.
//! - [`notification`]: what people are told, for every event.
//! - [`engine`]: start, decide, reconcile, the alias a state stands for, and the state each
//!   decision leads to.
//! - [`settings`], [`dashboard`], [`report`]: parsers for the functions' environment
//!   variables; what people look at: the CloudWatch dashboard body of an alias, and the
//!   self-contained HTML report of a rollout's timeline.

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
pub mod set;
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
pub use set::{SetRollout, SetSpec};
pub use state::{Rollout, Spec, Status};
pub use validate::InvalidField;
pub use version::{PublishedVersion, Readiness, VersionConfig};

#[cfg(test)]
mod tests;
