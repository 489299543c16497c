//! The rollout state: the spec that starts a rollout and the progress it accumulates. One JSON
//! object (camelCase fields, PascalCase statuses) carried from step to step.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::plan::{Plan, StrategyError};

/// What a caller asks for: move `alias` of `function_name` to `target_version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    pub function_name: String,
    pub alias: String,
    #[serde(deserialize_with = "version_string")]
    pub target_version: String,
    #[serde(
        default,
        deserialize_with = "optional_version_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_version: Option<String>,
    pub strategy: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_topic_arn: Option<String>,
    /// Seconds to keep watching after 100%; accepts a number or a duration like `"10m"`.
    #[serde(
        default,
        deserialize_with = "optional_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub bake_time: Option<u64>,
}

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    InProgress,
    Succeeded,
    RolledBack,
    Failed,
    Aborted,
}

impl Status {
    pub fn is_terminal(self) -> bool {
        self != Status::InProgress
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "InProgress",
            Status::Succeeded => "Succeeded",
            Status::RolledBack => "RolledBack",
            Status::Failed => "Failed",
            Status::Aborted => "Aborted",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::InProgress,
            Status::Succeeded,
            Status::RolledBack,
            Status::Failed,
            Status::Aborted,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

/// A rollout in flight (or ended): the spec plus its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    #[serde(flatten)]
    pub spec: Spec,
    pub rollout_id: String,
    pub status: Status,
    pub step_index: usize,
    /// Fraction of traffic on the target version now.
    pub weight: f64,
    pub alias_revision_id: String,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step_at: Option<DateTime<Utc>>,
    pub wait_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A field of the input that is missing or wrong, and what is allowed instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidField {
    pub field: &'static str,
    pub problem: String,
}

impl InvalidField {
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        InvalidField {
            field,
            problem: problem.into(),
        }
    }
}

impl From<StrategyError> for InvalidField {
    fn from(e: StrategyError) -> Self {
        InvalidField::new("strategy", e.to_string())
    }
}

impl Spec {
    /// Checks every field without touching AWS, and returns the plan the strategy names.
    pub fn validate(&self) -> Result<Plan, InvalidField> {
        check_function_name(&self.function_name)?;
        check_alias(&self.alias)?;
        check_version("targetVersion", &self.target_version)?;
        if let Some(current) = &self.current_version {
            check_version("currentVersion", current)?;
            if current == &self.target_version {
                return Err(InvalidField::new(
                    "currentVersion",
                    format!("must differ from targetVersion ({current})"),
                ));
            }
        }
        for name in &self.alarms {
            if name.trim().is_empty() || name.len() > 255 {
                return Err(InvalidField::new(
                    "alarms",
                    format!("alarm name {name:?} must be 1 to 255 characters"),
                ));
            }
        }
        if let Some(arn) = &self.notification_topic_arn {
            if !(arn.starts_with("arn:") && arn.split(':').count() == 6 && arn.contains(":sns:")) {
                return Err(InvalidField::new(
                    "notificationTopicArn",
                    format!("{arn:?} must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"),
                ));
            }
        }
        let bake = self.bake_time.unwrap_or(0);
        if bake > crate::plan::MAX_HOLD_SECONDS {
            return Err(InvalidField::new(
                "bakeTime",
                format!("{bake} seconds is more than the longest hold, 2 days"),
            ));
        }
        Ok(Plan::parse(&self.strategy, bake)?)
    }

    /// The plain function name, also when the spec gives an ARN.
    pub fn function_short_name(&self) -> &str {
        short_function_name(&self.function_name)
    }
}

/// `arn:aws:lambda:us-east-1:123:function:orders` → `orders`; a plain name is returned as is.
pub fn short_function_name(name_or_arn: &str) -> &str {
    match name_or_arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        _ => name_or_arn,
    }
}

pub fn check_function_name(name: &str) -> Result<(), InvalidField> {
    let short = short_function_name(name);
    let valid = !short.is_empty()
        && short.len() <= 64
        && short
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid && name.len() <= 140 {
        Ok(())
    } else {
        Err(InvalidField::new(
            "functionName",
            format!(
                "{name:?} must be a function name (letters, digits, - and _, up to 64) or its ARN"
            ),
        ))
    }
}

pub fn check_alias(alias: &str) -> Result<(), InvalidField> {
    let valid = !alias.is_empty()
        && alias.len() <= 128
        && !alias.bytes().all(|b| b.is_ascii_digit())
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(InvalidField::new(
            "alias",
            format!("{alias:?} must be an alias name (letters, digits, - and _, not only digits)"),
        ))
    }
}

fn check_version(field: &'static str, version: &str) -> Result<(), InvalidField> {
    let valid =
        !version.is_empty() && version.len() <= 10 && version.bytes().all(|b| b.is_ascii_digit());
    if valid && version != "0" {
        Ok(())
    } else {
        Err(InvalidField::new(
            field,
            format!("{version:?} must be a published version number like \"7\" (not $LATEST)"),
        ))
    }
}

/// Versions arrive as `"7"` or `7`; both mean the same published version.
fn version_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) if n.is_u64() => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "{other} must be a published version number like \"7\""
        ))),
    }
}

fn optional_version_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    version_string(d).map(Some)
}

/// Seconds as a number, or a duration string such as `"90s"` or `"10m"`, at most 2 days.
fn optional_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let seconds = match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) if n.is_u64() => n.as_u64().unwrap_or(u64::MAX),
        serde_json::Value::String(s) => crate::plan::parse_hold(&s)
            .map_err(|why| serde::de::Error::custom(format!("{s:?} {why}")))?,
        other => {
            return Err(serde::de::Error::custom(format!(
                "{other} must be a whole number of seconds or a duration like \"10m\""
            )))
        }
    };
    if seconds > crate::plan::MAX_HOLD_SECONDS {
        return Err(serde::de::Error::custom(format!(
            "{seconds} seconds is more than the longest hold, {} seconds (2 days)",
            crate::plan::MAX_HOLD_SECONDS
        )));
    }
    Ok(Some(seconds))
}
