//! lambda-rollout's library: the pure rollout domain (`plan`, `state`, `observe`, `engine`)
//! and, kept apart, the AWS adapters that feed it and carry out its decisions.

pub mod aws;
pub mod config;
pub mod driver;
pub mod engine;
pub mod guard;
pub mod hooks;
pub mod logging;
pub mod observe;
pub mod pipeline;
pub mod plan;
pub mod shifter;
pub mod state;

pub use engine::{AliasCheck, Decision, Refusal, Start};
pub use observe::{AlarmState, AlarmVerdict, AliasState, Marker, TargetVersion};
pub use plan::{Plan, Step, StrategyError};
pub use state::{InvalidField, Rollout, Spec, Status};
