//! Starting a rollout: the pre-flight checks on what was observed (the target version, what
//! a weighted alias needs, provisioned concurrency, the alarms, the alias), then the plan's
//! first step, or a replayed start recognised. `rollout check` lists the same checks.

use super::{marker_matches_alias, Decision, Refusal, Start};
use crate::alarms::{self, AlarmState, AlarmVerdict};
use crate::alias::AliasState;
use crate::plan::{format_percent, Plan};
use crate::provisioned::{Allocation, ProvisionedConcurrency};
use crate::state::{Spec, Status};
use crate::validate::{is_published_version, InvalidField};
use crate::version::{weighted_alias_problems, PublishedVersion, Readiness};

/// What a start observed of the world before deciding.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub alias: &'a AliasState,
    pub target: &'a PublishedVersion,
    /// How long the target was waited for (it was `Pending`), in seconds.
    pub waited_seconds: u64,
    /// The alias's current version, read when [`current_version_to_read`] names it.
    pub current: Option<&'a PublishedVersion>,
    /// The alias's provisioned concurrency, if it has any.
    pub provisioned: Option<&'a ProvisionedConcurrency>,
    pub alarms: &'a [AlarmVerdict],
}

/// One pre-flight check: what held, or why the rollout is refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// `targetVersion`, `weightedAlias`, `provisionedConcurrency`, `alarms` or `alias`.
    pub name: &'static str,
    pub outcome: Result<String, Refusal>,
}

impl Check {
    fn new(name: &'static str, outcome: Result<String, Refusal>) -> Check {
        Check { name, outcome }
    }
}

/// The version whose configuration the weighted-alias check needs: the alias's current
/// version, when the plan splits traffic and the alias is not on the target already.
pub fn current_version_to_read<'a>(
    spec: &Spec,
    plan: &Plan,
    alias: &'a AliasState,
) -> Option<&'a str> {
    let splits = plan.steps.iter().any(|s| s.weight < 1.0);
    (splits && alias.version != spec.target_version && is_published_version(&alias.version))
        .then_some(alias.version.as_str())
}

/// Every pre-flight check a start makes, in the order a start refuses: the target's
/// readiness first, then what a weighted alias needs, provisioned concurrency, the alarms,
/// and where the alias is.
pub fn preflight(spec: &Spec, plan: &Plan, seen: &Observed) -> Vec<Check> {
    let function = spec.function_short_name();
    let to = &spec.target_version;
    let alias = seen.alias;
    let mut checks = vec![Check::new(
        "targetVersion",
        match seen
            .target
            .readiness(function, to)
            .after_waiting(seen.waited_seconds)
        {
            Readiness::Ready(held) => Ok(held),
            Readiness::NotYet(why) => Err(Refusal::NotReady(why)),
            Readiness::Refused(why) => Err(InvalidField::new("targetVersion", why).into()),
        },
    )];
    checks.extend(weighted_alias(spec, plan, seen));
    checks.push(Check::new(
        "provisionedConcurrency",
        provisioned_concurrency(spec, seen.provisioned),
    ));
    checks.extend(alarm_checks(seen.alarms));
    let mut alias_checks = Vec::new();
    if let Some((other, weight)) = &alias.routing {
        alias_checks.push(Check::new(
            "alias",
            Err(Refusal::Conflict(format!(
                "alias {} already sends {} to version {other}; another deployment may be in progress",
                spec.alias,
                format_percent(*weight)
            ))),
        ));
    }
    if let Some(current) = &spec.current_version {
        if *current != alias.version {
            alias_checks.push(Check::new(
                "alias",
                Err(Refusal::Conflict(format!(
                    "alias {} is on version {}, not on currentVersion {current}",
                    spec.alias, alias.version
                ))),
            ));
        }
    }
    if alias_checks.is_empty() {
        alias_checks.push(Check::new(
            "alias",
            Ok(format!(
                "alias {} is on version {}",
                spec.alias, alias.version
            )),
        ));
    }
    checks.extend(alias_checks);
    checks
}

/// Decides a start: the pre-flight checks on what was observed, then step one. A target that
/// cannot take traffic is refused first; a replayed start or a version already live is
/// recognised before anything else is held against it.
pub fn begin(spec: &Spec, plan: &Plan, seen: &Observed) -> Result<Start, Refusal> {
    let checks = preflight(spec, plan, seen);
    if let Some(Err(refusal)) = checks.first().map(|c| &c.outcome) {
        return Err(refusal.clone());
    }
    let to = &spec.target_version;
    if let Some(marker) = seen.alias.marker() {
        let in_progress = marker.status == Status::InProgress;
        if in_progress
            && marker.to_version == *to
            && marker_matches_alias(&marker, plan, seen.alias)
        {
            return Ok(Start::Resume(Box::new(marker)));
        }
        // Another rollout still baking on its version: that version is not proven yet and
        // must not become this rollout's version to roll back to.
        if in_progress && marker.describes(seen.alias) {
            return Err(Refusal::Conflict(format!(
                "alias {} carries rollout {} to version {} still in progress (step {} of its own strategy); resume it with that strategy, let it end, or abort it first",
                spec.alias, marker.rollout_id, marker.to_version, marker.step_index + 1
            )));
        }
    }
    if seen.alias.is_settled_on(to) {
        return Ok(Start::AlreadyLive);
    }
    match checks.into_iter().find_map(|c| c.outcome.err()) {
        Some(refusal) => Err(refusal),
        None => Ok(Start::Begin(first_step(plan))),
    }
}

/// Lambda's conditions for splitting the alias between its version and the target: one
/// check per problem, none when the alias will not be split.
fn weighted_alias(spec: &Spec, plan: &Plan, seen: &Observed) -> Vec<Check> {
    let current = seen.alias.version.as_str();
    let to = spec.target_version.as_str();
    if current == to {
        return Vec::new();
    }
    if plan.steps.iter().all(|s| s.weight >= 1.0) {
        return vec![Check::new(
            "weightedAlias",
            Ok(format!(
                "{} moves all traffic at once: the alias is never split",
                plan.strategy
            )),
        )];
    }
    let current_seen = match (seen.current, is_published_version(current)) {
        (Some(current_seen), _) => current_seen,
        // Not published: the first problem says so, whatever was (not) read.
        (None, false) => &PublishedVersion::Missing,
        (None, true) => return Vec::new(),
    };
    // A missing target is the readiness rule's to report: there is nothing to compare.
    if seen.target.config().is_none() && current_seen.config().is_some() {
        return Vec::new();
    }
    let function = spec.function_short_name();
    let problems = weighted_alias_problems(function, (current, current_seen), (to, seen.target));
    if problems.is_empty() {
        return vec![Check::new(
            "weightedAlias",
            Ok(format!(
                "versions {current} and {to} have the same execution role and dead-letter configuration"
            )),
        )];
    }
    problems
        .into_iter()
        .map(|problem| {
            Check::new(
                "weightedAlias",
                Err(InvalidField::new("targetVersion", problem).into()),
            )
        })
        .collect()
}

fn provisioned_concurrency(
    spec: &Spec,
    seen: Option<&ProvisionedConcurrency>,
) -> Result<String, Refusal> {
    let name = format!("{}:{}", spec.function_short_name(), spec.alias);
    let Some(pc) = seen else {
        return Ok(format!("{name} has no provisioned concurrency"));
    };
    match pc.allocation() {
        Allocation::Failed(reason) => Err(InvalidField::new(
            "alias",
            format!(
                "the provisioned concurrency of {name} is FAILED ({reason}); fix or remove it \
                 before a rollout"
            ),
        )
        .into()),
        _ => Ok(format!(
            "{name} has provisioned concurrency ({}): each step is judged only once its new \
             weights are allocated (READY); raise it while the alias is split to keep requests \
             from spilling over to on-demand instances",
            pc.describe()
        )),
    }
}

fn alarm_checks(verdicts: &[AlarmVerdict]) -> Vec<Check> {
    let mut checks: Vec<Check> = verdicts
        .iter()
        .filter(|a| a.state == AlarmState::Missing)
        .map(|missing| {
            Check::new(
                "alarms",
                Err(InvalidField::new("alarms", missing.describe()).into()),
            )
        })
        .collect();
    let firing: Vec<AlarmVerdict> = verdicts
        .iter()
        .filter(|a| a.state != AlarmState::Missing)
        .cloned()
        .collect();
    if let Some(reason) = alarms::failing(&firing) {
        checks.push(Check::new("alarms", Err(Refusal::Unhealthy(reason))));
    }
    if checks.is_empty() {
        let names: Vec<&str> = verdicts.iter().map(|v| v.name.as_str()).collect();
        checks.push(Check::new(
            "alarms",
            Ok(if names.is_empty() {
                "no alarms named".into()
            } else {
                format!("no alarm in ALARM ({})", names.join(", "))
            }),
        ));
    }
    checks
}

pub(super) fn first_step(plan: &Plan) -> Decision {
    match plan.steps[0].weight {
        w if w >= 1.0 => Decision::Promote { step_index: 0 },
        weight => Decision::Shift {
            step_index: 0,
            weight,
        },
    }
}
