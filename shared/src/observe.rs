//! What the engine is shown of the world: the alias, the alarms, the target version. Plain
//! values that the AWS adapters fill in, and the marker a rollout leaves on its alias.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::state::{Rollout, Status};

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

    /// The rollout marker in the description, if this alias carries one.
    pub fn marker(&self) -> Option<Marker> {
        Marker::parse(&self.description)
    }
}

/// A CloudWatch alarm's state, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AlarmState {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
    /// DescribeAlarms did not return it.
    #[serde(rename = "MISSING")]
    Missing,
    /// DescribeAlarms failed; the message says why.
    #[serde(rename = "UNREADABLE")]
    Unreadable(String),
}

/// One named alarm and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmVerdict {
    pub name: String,
    pub state: AlarmState,
}

impl AlarmVerdict {
    pub fn new(name: impl Into<String>, state: AlarmState) -> Self {
        AlarmVerdict {
            name: name.into(),
            state,
        }
    }

    /// Breached, missing or unreadable: all fail closed.
    pub fn fails(&self) -> bool {
        matches!(
            self.state,
            AlarmState::Alarm | AlarmState::Missing | AlarmState::Unreadable(_)
        )
    }

    pub fn describe(&self) -> String {
        match &self.state {
            AlarmState::Alarm => format!("alarm {} is in ALARM", self.name),
            AlarmState::Missing => format!("alarm {} does not exist (failing closed)", self.name),
            AlarmState::Unreadable(why) => {
                format!(
                    "alarm {} could not be read (failing closed): {why}",
                    self.name
                )
            }
            AlarmState::Ok => format!("alarm {} is OK", self.name),
            AlarmState::InsufficientData => format!("alarm {} has insufficient data", self.name),
        }
    }
}

/// What Lambda says of the version a rollout moves to.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetVersion {
    Missing,
    /// Present; `state` and `last_update_status` as GetFunctionConfiguration reports them.
    Present {
        state: String,
        last_update_status: String,
    },
}

/// What a rollout writes into its alias's description with every update, so that a replayed
/// state can recognise progress it already made: `lambda-rollout id=… step=… status=… next=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub rollout_id: String,
    pub from_version: String,
    pub to_version: String,
    pub step_index: usize,
    pub status: Status,
    pub next_step_at: Option<DateTime<Utc>>,
    /// Who ended it, when not the rollout itself: `alarm-rollback:orders-errors`, `rollout-cli`.
    pub by: Option<String>,
}

const MARKER_PREFIX: &str = "lambda-rollout ";

impl Marker {
    pub fn of(rollout: &Rollout) -> Marker {
        Marker {
            rollout_id: rollout.rollout_id.clone(),
            from_version: rollout.spec.current_version.clone().unwrap_or_default(),
            to_version: rollout.spec.target_version.clone(),
            step_index: rollout.step_index,
            status: rollout.status,
            next_step_at: rollout.next_step_at,
            by: None,
        }
    }

    pub fn parse(description: &str) -> Option<Marker> {
        let fields = description.strip_prefix(MARKER_PREFIX)?;
        let mut marker = Marker {
            rollout_id: String::new(),
            from_version: String::new(),
            to_version: String::new(),
            step_index: 0,
            status: Status::InProgress,
            next_step_at: None,
            by: None,
        };
        for (key, value) in fields
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
        {
            match key {
                "id" => marker.rollout_id = value.to_string(),
                "from" => marker.from_version = value.to_string(),
                "to" => marker.to_version = value.to_string(),
                "step" => marker.step_index = value.parse().ok()?,
                "status" => marker.status = Status::parse(value)?,
                "next" => marker.next_step_at = Some(value.parse().ok()?),
                "by" => marker.by = Some(value.to_string()),
                _ => {}
            }
        }
        let complete = !marker.rollout_id.is_empty()
            && !marker.from_version.is_empty()
            && !marker.to_version.is_empty();
        complete.then_some(marker)
    }

    pub fn render(&self) -> String {
        let mut text = format!(
            "{MARKER_PREFIX}id={} from={} to={} step={} status={}",
            self.rollout_id,
            self.from_version,
            self.to_version,
            self.step_index,
            self.status.as_str()
        );
        if let Some(next) = self.next_step_at {
            text.push_str(&format!(
                " next={}",
                next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        if let Some(by) = &self.by {
            let by: String = by
                .chars()
                .map(|c| if c.is_whitespace() { '_' } else { c })
                .take(80)
                .collect();
            text.push_str(&format!(" by={by}"));
        }
        text
    }
}
