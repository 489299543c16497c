//! Stopping a rollout from outside its own steps (an operator's abort, the state machine's
//! Abort, an alarm's rollback): put the alias back, then tell people.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DriveError, Driver};
use rollout_core::alias::{describe_alias, version_to_restore};
use rollout_core::AliasUpdate;
use rollout_core::Status;
use rollout_core::{AlarmVerdict, Marker};
use rollout_core::{EventKind, Notification};

/// What stopping a rollout asks for.
pub struct StopRequest<'a> {
    pub function: &'a str,
    pub alias: &'a str,
    /// `Aborted` (an operator, the state machine) or `RolledBack` (an alarm).
    pub kind: EventKind,
    pub reason: &'a str,
    pub topic: Option<&'a str>,
    /// The alarms behind the stop, for the notification.
    pub alarms: Vec<AlarmVerdict>,
    /// Stop only a lambda-rollout rollout to this version; anything else is left alone.
    pub only_to_version: Option<&'a str>,
}

/// What stopping a rollout (an operator's abort, an alarm's rollback) did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stopped {
    pub function_name: String,
    pub alias: String,
    /// The version the alias was put back on; `None` when there was nothing to stop.
    pub restored_version: Option<String>,
    pub stopped_version: Option<String>,
    pub status: String,
    pub reason: String,
    /// Set when the alias was restored but telling people failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl Driver<'_> {
    /// Puts a split alias back on its primary version (or a baking one back on the version it
    /// came from). A settled alias is left alone, and so is one carrying another rollout when
    /// the request names the target version it stops.
    pub async fn stop(
        &self,
        request: StopRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<Stopped, DriveError> {
        let StopRequest {
            function,
            alias: alias_name,
            kind,
            reason,
            topic,
            alarms,
            only_to_version,
        } = request;
        let alias = self.aliases.get(function, alias_name).await?;
        let status = if kind == EventKind::Aborted {
            Status::Aborted
        } else {
            Status::RolledBack
        };
        let mut stopped = Stopped {
            function_name: function.into(),
            alias: alias_name.into(),
            restored_version: None,
            stopped_version: None,
            status: "NothingToStop".into(),
            reason: format!(
                "alias {alias_name} is settled on {}; nothing to stop",
                describe_alias(&alias)
            ),
            warning: None,
        };
        let marker = alias.marker();
        if let Some(to) = only_to_version {
            let ours = marker
                .as_ref()
                .is_some_and(|m| m.to_version == to && m.status == Status::InProgress);
            if !ours {
                stopped.reason = format!(
                    "alias {alias_name} carries no rollout to version {to} in progress (it is on {}); left alone",
                    describe_alias(&alias)
                );
                return Ok(stopped);
            }
        }
        let Some(restore) = version_to_restore(&alias) else {
            return Ok(stopped);
        };
        let stopped_version = alias
            .routing
            .as_ref()
            .map(|(v, _)| v.clone())
            .or_else(|| marker.as_ref().map(|m| m.to_version.clone()))
            .unwrap_or_default();
        let description = match &marker {
            Some(m) => Marker {
                status,
                next_step_at: None,
                by: Some(match alarms.first() {
                    Some(alarm) => format!("{}:{}", self.source, alarm.name),
                    None => self.source.to_string(),
                }),
                ..m.clone()
            }
            .render(),
            None => alias.description.clone(),
        };
        let update = AliasUpdate {
            version: restore.clone(),
            routing: None,
            description,
        };
        self.aliases
            .update(function, alias_name, &update, &alias.revision_id)
            .await?;
        stopped.restored_version = Some(restore.clone());
        stopped.stopped_version = Some(stopped_version.clone());
        stopped.status = status.as_str().into();
        stopped.reason = reason.into();
        let topic = topic.or(self.default_topic);
        if let Some(topic) = topic {
            let rollout_id = marker.map(|m| m.rollout_id).unwrap_or_default();
            let note = Notification::new(
                kind,
                &rollout_id,
                function,
                alias_name,
                (&restore, &stopped_version),
                0.0,
                status.as_str(),
                Some(reason.into()),
                alarms,
                now,
                self.source,
            );
            stopped.warning = self.publish(topic, &note).await;
        }
        Ok(stopped)
    }
}
