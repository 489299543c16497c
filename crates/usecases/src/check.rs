//! `rollout check`: every pre-flight check of a start, made on the same observations
//! ([`Driver::observe`], the engine's `preflight`) without changing anything, plus the
//! alias's wiring: the triggers that would bypass it, each with its fix.

use serde::Serialize;

use crate::driver::{DriveError, Driver};
use crate::ports::Triggers;
use crate::readiness::ReadyWait;
use rollout_core::engine::{self, Refusal, Start};
use rollout_core::plan::format_percent;
use rollout_core::wiring;
use rollout_core::{Decision, Spec};

/// How a finding weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The check held.
    Pass,
    /// Not a refusal, but worth fixing: traffic the canary would never see.
    Warning,
    /// A start would be refused.
    Refusal,
}

/// One finding, for people and scripts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `targetVersion`, `weightedAlias`, `provisionedConcurrency`, `alarms`, `alias`,
    /// `eventSourceMapping`, `functionUrl`, `permission` or `triggers`.
    pub check: &'static str,
    pub level: Level,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    fn new(check: &'static str, level: Level, message: impl Into<String>) -> Finding {
        Finding {
            check,
            level,
            message: message.into(),
            fix: None,
        }
    }
}

/// Everything `rollout check` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub function_name: String,
    pub alias: String,
    pub target_version: String,
    /// What `rollout run` would do now.
    pub verdict: String,
    /// False when any finding is a refusal.
    pub clear: bool,
    pub findings: Vec<Finding>,
}

/// Checks what a start of `spec` would check (waiting for a `Pending` target as `ready`
/// allows), and reads the function's triggers; touches nothing.
pub async fn check(
    driver: &Driver<'_>,
    triggers: &dyn Triggers,
    spec: &Spec,
    ready: &ReadyWait<'_>,
) -> Result<Report, DriveError> {
    let plan = spec.validate()?;
    let observation = driver.observe(spec, &plan, ready).await?;
    let seen = observation.observed();
    let mut findings: Vec<Finding> = engine::preflight(spec, &plan, &seen)
        .into_iter()
        .map(|c| match c.outcome {
            Ok(held) => Finding::new(c.name, Level::Pass, held),
            // A field named like its check is said once: `targetVersion: version 7 …`.
            Err(Refusal::Invalid(e)) if e.field == c.name => {
                Finding::new(c.name, Level::Refusal, e.problem)
            }
            Err(refusal) => Finding::new(c.name, Level::Refusal, refusal.to_string()),
        })
        .collect();
    findings.extend(wiring_findings(triggers, spec).await);
    let verdict = match engine::begin(spec, &plan, &seen) {
        Ok(Start::Begin(Decision::Shift { weight, .. })) => format!(
            "rollout run would start by sending {} to version {}",
            format_percent(weight),
            spec.target_version
        ),
        Ok(Start::Begin(_)) => format!(
            "rollout run would move all traffic to version {} at once",
            spec.target_version
        ),
        Ok(Start::AlreadyLive) => format!(
            "version {} is already live: rollout run has nothing to do",
            spec.target_version
        ),
        Ok(Start::Resume(marker)) => format!(
            "the alias carries rollout {} to version {} at step {}: rollout run would resume it",
            marker.rollout_id,
            marker.to_version,
            marker.step_index + 1
        ),
        Err(refusal) => format!("rollout run would refuse: {refusal}"),
    };
    Ok(Report {
        function_name: spec.function_name.clone(),
        alias: spec.alias.clone(),
        target_version: spec.target_version.clone(),
        verdict,
        clear: !findings.iter().any(|f| f.level == Level::Refusal),
        findings,
    })
}

/// The triggers that bypass the alias, as warnings with their fix; an unreadable list is a
/// warning too (the rollout itself does not depend on it).
async fn wiring_findings(triggers: &dyn Triggers, spec: &Spec) -> Vec<Finding> {
    let function = spec.function_short_name();
    let all = match triggers.triggers(&spec.function_name).await {
        Ok(all) => all,
        Err(e) => {
            return vec![Finding::new(
                "triggers",
                Level::Warning,
                format!("could not read the function's triggers, so they were not checked: {e}"),
            )]
        }
    };
    let bypasses = wiring::bypasses(function, &spec.alias, &all);
    if bypasses.is_empty() {
        return vec![Finding::new(
            "triggers",
            Level::Pass,
            format!(
                "no trigger bypasses alias {} ({} bound to it)",
                spec.alias,
                all.len()
            ),
        )];
    }
    bypasses
        .into_iter()
        .map(|b| Finding {
            check: match b.trigger.kind {
                wiring::TriggerKind::EventSourceMapping => "eventSourceMapping",
                wiring::TriggerKind::FunctionUrl => "functionUrl",
                wiring::TriggerKind::Permission => "permission",
            },
            level: Level::Warning,
            message: b.problem,
            fix: Some(b.fix),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{pending, spec, FakeTriggers, World, ROLE};
    use rollout_core::wiring::{Trigger, TriggerKind};
    use rollout_core::{PublishedVersion, VersionConfig};
    use std::time::Duration;

    fn levels(report: &Report) -> Vec<(&'static str, Level)> {
        report.findings.iter().map(|f| (f.check, f.level)).collect()
    }

    #[tokio::test]
    async fn a_clean_setup_is_clear_and_nothing_is_touched() {
        let world = World::new();
        let report = check(
            &world.driver(),
            &FakeTriggers::default(),
            &spec(),
            &ReadyWait::up_to(Duration::ZERO),
        )
        .await
        .unwrap();
        assert!(report.clear, "{report:#?}");
        assert!(report.findings.iter().all(|f| f.level == Level::Pass));
        assert_eq!(
            report.verdict,
            "rollout run would start by sending 10% to version 2"
        );
        assert_eq!(world.aliases.called("UpdateAlias"), 0);
        assert!(world.notifier.events().is_empty());
    }

    #[tokio::test]
    async fn every_refusal_and_every_bypass_is_listed() {
        let mut world = World::new();
        world.aliases.by_version.insert(
            "1".into(),
            PublishedVersion::Present(VersionConfig::active("arn:aws:iam::000000000000:role/old")),
        );
        world.alarms.set(rollout_core::AlarmState::Alarm);
        let latest = Trigger {
            kind: TriggerKind::EventSourceMapping,
            id: "uuid-1".into(),
            source: "arn:aws:sqs:us-east-1:000000000000:orders".into(),
            source_arn: None,
            qualifier: Some("$LATEST".into()),
        };
        let report = check(
            &world.driver(),
            &FakeTriggers(vec![latest]),
            &spec(),
            &ReadyWait::up_to(Duration::ZERO),
        )
        .await
        .unwrap();
        assert!(!report.clear);
        let levels = levels(&report);
        assert!(
            levels.contains(&("weightedAlias", Level::Refusal)),
            "{levels:?}"
        );
        assert!(levels.contains(&("alarms", Level::Refusal)), "{levels:?}");
        assert!(
            levels.contains(&("eventSourceMapping", Level::Warning)),
            "{levels:?}"
        );
        let weighted = &report.findings[1].message;
        assert!(
            weighted.contains(ROLE) && weighted.contains("role/old"),
            "{weighted}"
        );
        assert!(
            report.verdict.starts_with("rollout run would refuse"),
            "{report:#?}"
        );
    }

    #[tokio::test]
    async fn a_pending_target_without_time_to_wait_is_a_refusal_naming_its_state() {
        let world = World::new();
        world.aliases.script_versions([pending()]);
        let report = check(
            &world.driver(),
            &FakeTriggers::default(),
            &spec(),
            &ReadyWait::up_to(Duration::ZERO),
        )
        .await
        .unwrap();
        assert_eq!(report.findings[0].level, Level::Refusal);
        assert!(
            report.findings[0].message.contains("is Pending (Creating"),
            "{report:#?}"
        );
    }

    #[tokio::test]
    async fn a_missing_target_is_said_once_and_nothing_is_claimed_about_it() {
        let mut world = World::new();
        world.aliases.target = PublishedVersion::Missing;
        let report = check(
            &world.driver(),
            &FakeTriggers::default(),
            &spec(),
            &ReadyWait::up_to(Duration::ZERO),
        )
        .await
        .unwrap();
        assert!(!report.clear);
        let target = &report.findings[0];
        assert_eq!(
            (target.check, target.level),
            ("targetVersion", Level::Refusal)
        );
        assert!(
            target.message.starts_with("version 2 of ")
                && target.message.contains("does not exist"),
            "{target:?}"
        );
        assert!(
            !levels(&report)
                .iter()
                .any(|(check, _)| *check == "weightedAlias"),
            "nothing can be compared with a version that does not exist: {report:#?}"
        );
    }
}
