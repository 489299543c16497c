//! What Lambda says of a published version, and the rules on it: when it may take traffic
//! ([`PublishedVersion::readiness`]: ready, wait, or refuse), and what a weighted alias needs
//! of its two versions ([`weighted_alias_problems`]).

use crate::validate::is_published_version;

/// What GetFunctionConfiguration says of a version.
#[derive(Debug, Clone, PartialEq)]
pub enum PublishedVersion {
    Missing,
    Present(VersionConfig),
}

/// The parts of a version's configuration a rollout depends on, as Lambda reports them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionConfig {
    /// `Pending`, `Active`, `Inactive` or `Failed`.
    pub state: String,
    /// Why it is in that state (`StateReasonCode`, e.g. `Creating`), empty when Lambda gives none.
    pub state_reason_code: String,
    /// `StateReason`, in Lambda's words; empty when Lambda gives none.
    pub state_reason: String,
    /// `Successful`, `InProgress` or `Failed`.
    pub last_update_status: String,
    /// The execution role's ARN.
    pub role: String,
    /// The dead-letter queue or topic ARN, if one is configured.
    pub dead_letter_target: Option<String>,
}

impl VersionConfig {
    /// An `Active` version whose last update succeeded, running as `role`, with no DLQ.
    pub fn active(role: &str) -> VersionConfig {
        VersionConfig {
            state: "Active".into(),
            last_update_status: "Successful".into(),
            role: role.into(),
            ..VersionConfig::default()
        }
    }

    /// `Pending (Creating: The function is being created.)`, or just the state.
    pub fn state_text(&self) -> String {
        let reason = match (
            self.state_reason_code.as_str(),
            self.state_reason.trim_end_matches('.'),
        ) {
            ("", "") => return self.state.clone(),
            (code, "") => code.to_string(),
            ("", text) => text.to_string(),
            (code, text) => format!("{code}: {text}"),
        };
        format!("{} ({reason})", self.state)
    }
}

/// Whether a version may take traffic now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// It may: what held.
    Ready(String),
    /// Not yet, and it will be without anyone acting (`Pending`, an update in progress): wait.
    NotYet(String),
    /// Waiting will not help (missing, `Failed`, `Inactive`, a failed update): invalid input.
    Refused(String),
}

impl Readiness {
    /// The same verdict once a wait of `waited_seconds` is over: a version still not ready
    /// says for how long it was waited for.
    pub fn after_waiting(self, waited_seconds: u64) -> Readiness {
        match self {
            Readiness::NotYet(why) if waited_seconds > 0 => Readiness::NotYet(format!(
                "{why}, still after waiting {}; it must be Active before it takes traffic",
                crate::plan::format_seconds(waited_seconds)
            )),
            Readiness::NotYet(why) => {
                Readiness::NotYet(format!("{why}; it must be Active before it takes traffic"))
            }
            other => other,
        }
    }

    /// `Ok(what held)`, else why not (waiting or not).
    pub fn into_result(self) -> Result<String, String> {
        match self {
            Readiness::Ready(held) => Ok(held),
            Readiness::NotYet(why) | Readiness::Refused(why) => Err(why),
        }
    }
}

impl PublishedVersion {
    /// The one rule for when version `version` of `function` may take traffic: it exists, it
    /// is `Active`, and its last update succeeded. `Pending` (a fresh version, for a moment; a
    /// SnapStart version, for minutes) is waited for; `Failed` and `Inactive` are refused with
    /// Lambda's reason.
    pub fn readiness(&self, function: &str, version: &str) -> Readiness {
        let config = match self {
            PublishedVersion::Missing => {
                return Readiness::Refused(format!(
                    "version {version} of {function} does not exist"
                ))
            }
            PublishedVersion::Present(config) => config,
        };
        let named = format!("version {version} of {function}");
        let state = config.state_text();
        match (config.state.as_str(), config.last_update_status.as_str()) {
            ("Active", "Successful") => Readiness::Ready(format!("{named} is Active")),
            ("Pending", _) => Readiness::NotYet(format!("{named} is {state}")),
            ("Active", "InProgress") => {
                Readiness::NotYet(format!("{named} is being updated (last update InProgress)"))
            }
            ("Failed", _) => Readiness::Refused(format!(
                "{named} is {state}; it cannot take traffic: publish a version that starts"
            )),
            ("Inactive", _) => Readiness::Refused(format!(
                "{named} is {state}; invoke it once to make it Active again, then retry"
            )),
            ("Active", update) => Readiness::Refused(format!(
                "{named} is Active but its last update {update}; publish a new version"
            )),
            _ => Readiness::Refused(format!(
                "{named} is {state} (last update {}); it must be Active",
                config.last_update_status
            )),
        }
    }

    pub fn config(&self) -> Option<&VersionConfig> {
        match self {
            PublishedVersion::Missing => None,
            PublishedVersion::Present(config) => Some(config),
        }
    }
}

/// What Lambda requires of the two versions of a weighted alias, checked before any change
/// (Lambda's own refusal is cryptic): both published, the same execution role, the same
/// dead-letter configuration. Each problem names both values and the way out.
pub fn weighted_alias_problems(
    function: &str,
    (current, current_seen): (&str, &PublishedVersion),
    (target, target_seen): (&str, &PublishedVersion),
) -> Vec<String> {
    let without_split = "or move the alias without a split (strategy AllAtOnce)";
    if !is_published_version(current) {
        return vec![format!(
            "the alias points at {current}, and a weighted alias needs both versions published: \
             point it at a published version first, {without_split}"
        )];
    }
    let (Some(from), Some(to)) = (current_seen.config(), target_seen.config()) else {
        return match current_seen {
            PublishedVersion::Missing => vec![format!(
                "version {current} of {function}, the alias's current version, does not exist"
            )],
            // A missing target is the readiness rule's to report.
            PublishedVersion::Present(_) => Vec::new(),
        };
    };
    let mut problems = Vec::new();
    if from.role != to.role {
        problems.push(format!(
            "version {target} of {function} runs as role {} but version {current} as role {}: a \
             weighted alias needs the same execution role; publish version {target} with role {}, \
             {without_split}",
            to.role, from.role, from.role
        ));
    }
    if from.dead_letter_target != to.dead_letter_target {
        let dlq = |t: &Option<String>| {
            t.as_deref().map_or_else(
                || "no dead-letter queue".to_string(),
                |arn| format!("dead-letter target {arn}"),
            )
        };
        problems.push(format!(
            "version {target} of {function} has {} but version {current} has {}: a weighted alias \
             needs the same dead-letter configuration; publish version {target} with the same one, \
             {without_split}",
            dlq(&to.dead_letter_target),
            dlq(&from.dead_letter_target)
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(state: &str, update: &str) -> PublishedVersion {
        PublishedVersion::Present(VersionConfig {
            state: state.into(),
            last_update_status: update.into(),
            ..VersionConfig::active("arn:aws:iam::1:role/r")
        })
    }

    fn with_reason(state: &str, code: &str, reason: &str) -> PublishedVersion {
        PublishedVersion::Present(VersionConfig {
            state: state.into(),
            state_reason_code: code.into(),
            state_reason: reason.into(),
            last_update_status: "Successful".into(),
            ..VersionConfig::default()
        })
    }

    #[test]
    fn only_an_active_successfully_updated_version_is_ready() {
        assert_eq!(
            seen("Active", "Successful").readiness("f", "2"),
            Readiness::Ready("version 2 of f is Active".into())
        );
        assert!(matches!(
            seen("Active", "Failed").readiness("f", "2"),
            Readiness::Refused(_)
        ));
        assert_eq!(
            PublishedVersion::Missing.readiness("f", "2"),
            Readiness::Refused("version 2 of f does not exist".into())
        );
    }

    #[test]
    fn a_pending_version_is_waited_for_and_says_why_it_is_pending() {
        let pending = with_reason("Pending", "Creating", "The function is being created.");
        assert_eq!(
            pending.readiness("orders", "3"),
            Readiness::NotYet(
                "version 3 of orders is Pending (Creating: The function is being created)".into()
            )
        );
        assert!(matches!(
            seen("Active", "InProgress").readiness("f", "2"),
            Readiness::NotYet(_)
        ));
    }

    #[test]
    fn failed_and_inactive_are_refused_with_lambdas_reason() {
        let failed =
            with_reason("Failed", "InvalidImage", "The image is corrupt.").readiness("orders", "3");
        let Readiness::Refused(why) = failed else {
            panic!("{failed:?}")
        };
        assert!(
            why.contains("Failed (InvalidImage: The image is corrupt)"),
            "{why}"
        );
        let inactive = with_reason("Inactive", "Idle", "").readiness("orders", "3");
        let Readiness::Refused(why) = inactive else {
            panic!("{inactive:?}")
        };
        assert!(
            why.contains("Inactive (Idle)") && why.contains("invoke it once"),
            "{why}"
        );
    }

    #[test]
    fn a_wait_that_ran_out_says_how_long_it_waited() {
        let after = seen("Pending", "InProgress")
            .readiness("f", "2")
            .after_waiting(600);
        let Readiness::NotYet(why) = after else {
            panic!("{after:?}")
        };
        assert!(why.contains("still after waiting 10m"), "{why}");
        assert_eq!(
            seen("Active", "Successful")
                .readiness("f", "2")
                .after_waiting(9),
            Readiness::Ready("version 2 of f is Active".into())
        );
    }

    fn runs_as(role: &str, dlq: Option<&str>) -> PublishedVersion {
        PublishedVersion::Present(VersionConfig {
            dead_letter_target: dlq.map(String::from),
            ..VersionConfig::active(role)
        })
    }

    #[test]
    fn a_weighted_alias_needs_the_same_role_and_dead_letter_config_named_both_ways() {
        let a = "arn:aws:iam::1:role/a";
        let b = "arn:aws:iam::1:role/b";
        assert!(
            weighted_alias_problems("f", ("1", &runs_as(a, None)), ("2", &runs_as(a, None)))
                .is_empty()
        );
        let problems = weighted_alias_problems(
            "f",
            ("1", &runs_as(a, None)),
            ("2", &runs_as(b, Some("arn:q"))),
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains(a) && problems[0].contains(b),
            "{}",
            problems[0]
        );
        assert!(
            problems[1].contains("dead-letter target arn:q")
                && problems[1].contains("no dead-letter queue"),
            "{}",
            problems[1]
        );
    }

    #[test]
    fn a_weighted_alias_needs_both_versions_published() {
        let problems = weighted_alias_problems(
            "f",
            ("$LATEST", &runs_as("r", None)),
            ("2", &runs_as("r", None)),
        );
        assert!(problems[0].contains("points at $LATEST"), "{problems:?}");
        let problems = weighted_alias_problems(
            "f",
            ("1", &PublishedVersion::Missing),
            ("2", &runs_as("r", None)),
        );
        assert!(problems[0].contains("does not exist"), "{problems:?}");
    }
}
