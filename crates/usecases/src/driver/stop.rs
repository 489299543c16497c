//! Stopping a rollout from outside its own steps (an operator's abort, the state machine's
//! Abort, an alarm's rollback): put the alias back, patiently, then tell people. A stop
//! never trusts a marker that no longer matches the alias, and a replay of a stop that
//! already landed sends the alert it owes (same eventId) instead of nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::calls::retrying;
use super::weights::WeightAt;
use super::{DriveError, Driver};
use crate::ports::AliasError;
use rollout_core::alias::describe_alias;
use rollout_core::engine::version_to_restore;
use rollout_core::notification::rollout_event_id;
use rollout_core::plan::format_percent;
use rollout_core::validate::short_function_name;
use rollout_core::{
    AlarmVerdict, AliasState, AliasUpdate, EventKind, Marker, Notification, Status,
};

/// How many times in a row a stop may find the alias changed under it before giving up.
const MAX_CONFLICTS: u32 = 10;

/// Which splits a stop may put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopScope<'a> {
    /// Any split alias (an operator's `rollout abort`).
    AnySplit,
    /// Only a lambda-rollout rollout in progress whose marker still matches the alias.
    OurRollouts,
    /// Only such a rollout to this version (the state machine's Abort).
    OurRolloutTo(&'a str),
    /// A member of the release set whose rollout this is, while the set is unfinished: in
    /// progress, or already promoted by this rollout (a driver died before the other
    /// members' writes): either way it goes back with the set.
    OurSetMember(&'a str),
}

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
    pub scope: StopScope<'a>,
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

/// What one look at the alias says a stop should do.
enum Plan {
    Nothing(String),
    /// This very stop already landed (a replay): send the alert it owes.
    AlreadyDone(Marker),
    Restore {
        version: String,
        stopped_version: String,
        marker: Option<Marker>,
    },
}

impl Driver<'_> {
    /// Puts a split alias back on its primary version (or a baking one back on the version it
    /// came from), within `request.scope`. Throttling and 5xx are retried until the rollback
    /// bound; a conflict re-reads the alias and decides again.
    pub async fn stop(
        &self,
        request: StopRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<Stopped, DriveError> {
        self.stop_seen(request, None, now).await
    }

    /// [`Driver::stop`], deciding first on `seen`, the alias as the caller just read it (no
    /// second read on a rollback's path); a conflict then re-reads it as always.
    pub async fn stop_seen(
        &self,
        request: StopRequest<'_>,
        mut seen: Option<AliasState>,
        now: DateTime<Utc>,
    ) -> Result<Stopped, DriveError> {
        let StopRequest {
            function,
            alias: alias_name,
            kind,
            reason,
            topic,
            alarms,
            scope,
        } = request;
        let status = if kind == EventKind::Aborted {
            Status::Aborted
        } else {
            Status::RolledBack
        };
        let by = match alarms.first() {
            Some(alarm) => format!("{}:{}", self.source, alarm.name),
            None => self.source.to_string(),
        };
        let mut stopped = Stopped {
            function_name: function.into(),
            alias: alias_name.into(),
            restored_version: None,
            stopped_version: None,
            status: "NothingToStop".into(),
            reason: String::new(),
            warning: None,
        };
        let mut backoff = self.patience.backoff(self.patience.rollback);
        let mut conflicts = 0;
        // The last restore tried (version, the split it replaced) and the alias last seen:
        // a restore whose answer was lost reads back as the alias settled where it was put.
        let mut tried: Option<(String, String, String)> = None;
        let mut last_seen: Option<AliasState> = None;
        let (restored, stopped_version, marker, replayed, replaced) = loop {
            let read = match seen.take() {
                Some(alias) => Ok(alias),
                None => {
                    retrying(&mut backoff, async || {
                        self.aliases.get(function, alias_name).await
                    })
                    .await
                }
            };
            let alias = match read {
                Ok(alias) => alias,
                Err(error) => {
                    if let Some(seen) = &last_seen {
                        self.report_still_split(
                            function, alias_name, seen, &error, reason, topic, now,
                        )
                        .await;
                    }
                    return Err(error.into());
                }
            };
            let (version, stopped_version, marker) = match plan_stop(&alias, scope, status, &by) {
                Plan::Nothing(_)
                    if tried
                        .as_ref()
                        .is_some_and(|(version, _, _)| alias.is_settled_on(version)) =>
                {
                    let (version, was, replaced) = tried.take().expect("checked");
                    break (version, was, None, false, replaced);
                }
                Plan::Nothing(why) => {
                    stopped.reason = why;
                    return Ok(stopped);
                }
                Plan::AlreadyDone(marker) => {
                    let restored = marker.from_version.clone();
                    let from = marker.to_version.clone();
                    break (
                        restored,
                        from,
                        Some(marker),
                        true,
                        alias.revision_id.clone(),
                    );
                }
                Plan::Restore {
                    version,
                    stopped_version,
                    marker,
                } => (version, stopped_version, marker),
            };
            let description = match &marker {
                Some(m) => Marker {
                    status,
                    weight: Some(0.0),
                    next_step_at: None,
                    // An ended rollout is no longer paused or promoted.
                    control: None,
                    by: Some(by.clone()),
                    why: Some(reason.to_string()),
                    ..m.clone()
                }
                .render(),
                None => alias.description.clone(),
            };
            let update = AliasUpdate {
                version: version.clone(),
                routing: None,
                description,
            };
            tried = Some((
                version.clone(),
                stopped_version.clone(),
                alias.revision_id.clone(),
            ));
            last_seen = Some(alias.clone());
            match retrying(&mut backoff, async || {
                self.aliases
                    .update(function, alias_name, &update, &alias.revision_id)
                    .await
            })
            .await
            {
                Ok(_) => {
                    break (
                        version,
                        stopped_version,
                        marker,
                        false,
                        alias.revision_id.clone(),
                    )
                }
                Err(AliasError::Conflict) if conflicts < MAX_CONFLICTS => conflicts += 1,
                Err(error) => {
                    self.report_still_split(
                        function, alias_name, &alias, &error, reason, topic, now,
                    )
                    .await;
                    return Err(error.into());
                }
            }
        };
        stopped.restored_version = Some(restored.clone());
        stopped.stopped_version = Some(stopped_version.clone());
        stopped.status = status.as_str().into();
        // A replay keeps the reason the stop that landed gave.
        stopped.reason = match &marker {
            Some(m) if replayed => m.why.clone().unwrap_or_else(|| reason.into()),
            _ => reason.into(),
        };
        let rollout_id = marker.as_ref().map(|m| m.rollout_id.clone());
        let mut note = Notification::new(
            kind,
            rollout_id.as_deref().unwrap_or_default(),
            function,
            alias_name,
            (&restored, &stopped_version),
            0.0,
            status.as_str(),
            Some(stopped.reason.clone()),
            alarms,
            now,
            self.source,
        );
        note.event_id = match &marker {
            Some(m) => rollout_event_id(&m.rollout_id, m.step_index, kind),
            // No rollout of ours: the split replaced names the event.
            None => format!("{function}:{alias_name}@{replaced}/{}", kind.as_str()),
        };
        stopped.warning = self.send(topic.or(self.default_topic), &note).await;
        // Last: no traffic on the stopped version any more.
        let zero = WeightAt {
            weight: 0.0,
            at: now,
        };
        self.put_weights(short_function_name(function), alias_name, &[zero])
            .await;
        Ok(stopped)
    }

    /// Only when a stop gave up: `rollout.failed`, saying plainly that traffic is still split
    /// and on which versions.
    #[allow(clippy::too_many_arguments)]
    async fn report_still_split(
        &self,
        function: &str,
        alias_name: &str,
        alias: &AliasState,
        error: &AliasError,
        reason: &str,
        topic: Option<&str>,
        now: DateTime<Utc>,
    ) {
        let marker = alias.marker();
        let (current, target, weight) = match (&alias.routing, &marker) {
            (Some((to, w)), _) => (alias.version.clone(), to.clone(), *w),
            (None, Some(m)) => (m.from_version.clone(), m.to_version.clone(), 1.0),
            (None, None) => (alias.version.clone(), alias.version.clone(), 0.0),
        };
        let rollout_id = marker.map(|m| m.rollout_id).unwrap_or_default();
        let mut note = Notification::new(
            EventKind::Failed,
            &rollout_id,
            function,
            alias_name,
            (&current, &target),
            weight,
            Status::Failed.as_str(),
            Some(format!(
                "could not put the alias back ({error}); traffic is still split: {} on version {target}, the rest on version {current}. Why it was stopping: {reason}",
                format_percent(weight)
            )),
            Vec::new(),
            now,
            self.source,
        );
        note.event_id = format!(
            "{function}:{alias_name}@{}/rollout.failed",
            alias.revision_id
        );
        let _ = self.send(topic.or(self.default_topic), &note).await;
    }
}

/// Decides, from one look at the alias, what a stop within `scope` should do.
fn plan_stop(alias: &AliasState, scope: StopScope<'_>, status: Status, by: &str) -> Plan {
    let name = describe_alias(alias);
    // Only a marker that still describes the alias is trusted.
    let marker = alias.marker().filter(|m| m.describes(alias));
    if let Some(m) = &marker {
        // `by=` is cut to fit the description: compared as it was recorded.
        if m.status == status && m.by.as_deref() == Some(Marker::recorded_by(by).as_str()) {
            return Plan::AlreadyDone(m.clone());
        }
    }
    let ours = marker.as_ref().filter(|m| {
        m.status == Status::InProgress
            || matches!(scope, StopScope::OurSetMember(id)
                if m.status == Status::Succeeded && m.rollout_id == id)
    });
    match scope {
        StopScope::AnySplit => {}
        StopScope::OurRollouts if ours.is_none() => {
            return Plan::Nothing(format!(
                "the alias carries no lambda-rollout rollout in progress (it is on {name}); left alone"
            ))
        }
        StopScope::OurSetMember(id) if ours.is_none_or(|m| m.rollout_id != id) => {
            return Plan::Nothing(format!(
                "the alias carries no part of rollout {id} to put back (it is on {name}); left alone"
            ))
        }
        StopScope::OurRolloutTo(to) if ours.is_none_or(|m| m.to_version != to) => {
            return Plan::Nothing(format!(
                "the alias carries no rollout to version {to} in progress (it is on {name}); left alone"
            ))
        }
        _ => {}
    }
    // A set member this rollout already promoted is settled on its target: back to where it
    // came from.
    let promoted = ours
        .filter(|m| m.status == Status::Succeeded && alias.is_settled_on(&m.to_version))
        .map(|m| m.from_version.clone());
    let Some(version) = version_to_restore(alias).or(promoted) else {
        return Plan::Nothing(format!("the alias is settled on {name}; nothing to stop"));
    };
    let stopped_version = alias
        .routing
        .as_ref()
        .map(|(v, _)| v.clone())
        .or_else(|| ours.map(|m| m.to_version.clone()))
        .unwrap_or_default();
    Plan::Restore {
        version,
        stopped_version,
        marker: ours.cloned(),
    }
}
