//! The marker codec: what a rollout writes into its alias's description with every update,
//! `lambda-rollout id=… from=… to=… step=… status=… [next=…] [by=…]`. It is how a replayed
//! state or start recognises progress already made, and how `status`, `abort` and
//! alarm-rollback know a rollout from the alias alone.

use chrono::{DateTime, Utc};

use crate::state::{Rollout, Status};

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
