//! The traffic router as the engine sees it: a Lambda alias (its version, its one weighted
//! additional version, its RevisionId and description), an update to it (which update a
//! rollout wants is the engine's to say), and Lambda's routing rules, checked here because
//! not every endpoint checks them.

use crate::plan::format_percent;
use crate::validate::{is_published_version, InvalidField};

/// Lambda's limit on an alias description, where the marker lives.
pub const DESCRIPTION_MAX_CHARS: usize = 256;

/// An alias as Lambda reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasState {
    pub version: String,
    /// The one additional version and its weight, when the alias is split.
    pub routing: Option<(String, f64)>,
    pub revision_id: String,
    pub description: String,
}

impl AliasState {
    /// True when the alias sends all traffic to `version` with no split.
    pub fn is_settled_on(&self, version: &str) -> bool {
        self.version == version && self.routing.is_none()
    }

    /// The fraction of traffic `version` gets.
    pub fn weight_on(&self, version: &str) -> f64 {
        match &self.routing {
            Some((other, w)) if other == version => *w,
            Some((_, w)) if self.version == version => 1.0 - w,
            None if self.version == version => 1.0,
            _ => 0.0,
        }
    }
}

/// What an alias should become.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasUpdate {
    pub version: String,
    pub routing: Option<(String, f64)>,
    pub description: String,
}

impl AliasUpdate {
    /// Lambda's routing rules: one additional published version, not the primary, with a
    /// weight strictly in (0,1); a description within Lambda's limit.
    pub fn validate(&self) -> Result<(), InvalidField> {
        if !is_published_version(&self.version) {
            return Err(InvalidField::new(
                "version",
                format!(
                    "{:?} must be a published version, not $LATEST",
                    self.version
                ),
            ));
        }
        if let Some((other, weight)) = &self.routing {
            if !is_published_version(other) || other == &self.version {
                return Err(InvalidField::new(
                    "routing",
                    format!(
                        "additional version {other:?} must be published and differ from {}",
                        self.version
                    ),
                ));
            }
            if !(*weight > 0.0 && *weight < 1.0) {
                return Err(InvalidField::new(
                    "weight",
                    format!("{weight} must be strictly between 0 and 1"),
                ));
            }
        }
        if self.description.chars().count() > DESCRIPTION_MAX_CHARS {
            return Err(InvalidField::new(
                "description",
                format!("must be at most {DESCRIPTION_MAX_CHARS} characters"),
            ));
        }
        Ok(())
    }
}

/// `version 6 with 10% on 7`, for people.
pub fn describe_alias(alias: &AliasState) -> String {
    match &alias.routing {
        None => format!("version {}", alias.version),
        Some((other, w)) => format!(
            "version {} with {} on {other}",
            alias.version,
            format_percent(*w)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(version: &str, routing: Option<(&str, f64)>) -> AliasUpdate {
        AliasUpdate {
            version: version.into(),
            routing: routing.map(|(v, w)| (v.into(), w)),
            description: String::new(),
        }
    }

    #[test]
    fn routing_that_lambda_would_refuse_is_invalid() {
        for bad in [
            update("6", Some(("7", 1.0))),
            update("6", Some(("7", 0.0))),
            update("6", Some(("6", 0.5))),
            update("6", Some(("$LATEST", 0.5))),
            update("$LATEST", None),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert!(update("6", Some(("7", 0.1))).validate().is_ok());
    }
}
