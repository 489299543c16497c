//! Stopping a set from outside its steps (an alarm's rollback, an operator's abort), whichever
//! member it was found from and whether or not a driver is alive: every member put back at
//! once, each by the one-alias stop ([`Driver::stop`]) of a quiet driver in its place, with a
//! rollback's patience; a member someone else changed is left as it is; then one event for
//! the set.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use rollout_core::set::SetRollout;
use rollout_core::{AlarmVerdict, EventKind, Notification, Status};

use super::ring::FoundSet;
use super::SetDriver;
use crate::driver::{DriveError, StopRequest, StopScope, Stopped};
use crate::ports::AliasError;

/// What stopping a set asks for: as [`StopRequest`] asks of one alias, for every member.
pub struct SetStopRequest<'a> {
    /// `Aborted` (an operator) or `RolledBack` (an alarm).
    pub kind: EventKind,
    pub reason: &'a str,
    pub topic: Option<&'a str>,
    pub alarms: Vec<AlarmVerdict>,
    pub scope: StopScope<'a>,
    /// The member the stop is about (whose alarm fired, the one an operator named), by its
    /// place in the set: the event names it.
    pub focus: usize,
}

/// What stopping a set did.
#[derive(Debug)]
pub struct SetStopped {
    /// The set as the stop left it (as far as its members' markers tell).
    pub set: SetRollout,
    /// Each member found, in the set's order, and what its stop did.
    pub members: Vec<(String, Result<Stopped, DriveError>)>,
    /// Members left as they are: not this set's any more (someone else changed them) or gone.
    pub left_alone: Vec<String>,
    /// Members of an unfinished set that no walk reached (someone else changed the members on
    /// both sides of them): they may still be split, and nothing here can know.
    pub unreached: Vec<String>,
    /// The set's event, when there was one (nothing was put back: none).
    pub event: Option<EventKind>,
    /// Set when the members are safe but people could not be told.
    pub warning: Option<String>,
}

impl SetStopped {
    /// The members this stop put back (or a replay of it had), with what each stop said.
    pub fn put_back(&self) -> impl Iterator<Item = &Stopped> {
        self.members
            .iter()
            .filter_map(|(_, m)| m.as_ref().ok())
            .filter(|s| s.restored_version.is_some())
    }

    /// The first member that could not be made safe, and why.
    pub fn first_failure(&self) -> Option<(&str, &DriveError)> {
        self.members.iter().find_map(|(label, m)| match m {
            Err(e) if !matches!(e, DriveError::Invalid(_)) => Some((label.as_str(), e)),
            _ => None,
        })
    }
}

impl SetDriver<'_> {
    /// Puts every member of `found` back (within `request.scope`), then tells people once:
    /// `request.kind` for the set, or `rollout.failed` naming every member still split.
    /// Nothing put back (the set had ended, or no member is this set's any more): no event.
    /// A replay finds its own writes done and sends the event it owes, under the same eventId.
    pub async fn stop(
        &self,
        found: &FoundSet,
        request: SetStopRequest<'_>,
        now: DateTime<Utc>,
    ) -> SetStopped {
        let SetStopRequest {
            kind,
            reason,
            topic,
            alarms,
            scope,
            focus,
        } = request;
        // An unfinished set's member that this rollout already promoted goes back with it.
        let unfinished = found.in_progress();
        let stops = found.members.iter().map(|m| {
            let alarms = alarms.clone();
            let scope = match unfinished && m.marker.status == Status::Succeeded {
                true => StopScope::OurSetMember(&found.rollout_id),
                false => scope,
            };
            async move {
                let place = self
                    .places
                    .place(&m.spec)
                    .await
                    .map_err(|e| DriveError::Alias(AliasError::Aws(e)))?;
                let stop = StopRequest {
                    function: &m.spec.function_name,
                    alias: &m.spec.alias,
                    kind,
                    reason,
                    topic: None,
                    alarms,
                    scope,
                };
                // Quiet: the set is told once, below. The walk's read is the stop's first.
                self.member_driver(place)
                    .stop_seen(stop, Some(m.alias.clone()), now)
                    .await
            }
        });
        let ended = join_all(stops).await;
        let mut set = found.state();
        let mut left_alone = found.missing_labels();
        let unreached = match found.in_progress() {
            true => found.unreached_labels(),
            false => Vec::new(),
        };
        let mut any_back = false;
        let mut split = Vec::new();
        for (i, end) in ended.iter().enumerate() {
            let label = format!("members[{}] {}", found.members[i].link.index, set.label(i));
            let m = &mut set.members[i];
            match end {
                Ok(s) if s.restored_version.is_some() => {
                    m.weight = 0.0;
                    any_back = true;
                }
                Ok(s) => {
                    m.status = Some(Status::Aborted);
                    m.reason = Some(s.reason.clone());
                    left_alone.push(label);
                }
                // Gone since the walk (a function or alias deleted): nothing of it to guard.
                Err(DriveError::Invalid(_)) => left_alone.push(label),
                Err(e) => {
                    m.status = Some(Status::Failed);
                    m.reason = Some(format!("could not be put back: {e}"));
                    split.push(i);
                }
            }
        }
        let members = found
            .members
            .iter()
            .map(|m| m.spec.label())
            .zip(ended)
            .collect();
        let event = match (any_back, split.is_empty()) {
            // Told as a failure, never as a set put back: a member may still be split.
            (_, true) if !unreached.is_empty() => {
                set.end(
                    Status::Failed,
                    format!(
                        "{reason}; the members reached are back, but {} could not be reached from any member still the set's (someone else changed the members beside it): it may still be split; check it and run `rollout abort` on it",
                        unreached.join(", ")
                    ),
                );
                Some(EventKind::Failed)
            }
            (false, true) => None,
            (_, false) => {
                let why = super::step::still_split(&set, &split, reason);
                set.end(Status::Failed, why);
                Some(EventKind::Failed)
            }
            (true, true) => {
                let status = match kind {
                    EventKind::Aborted => Status::Aborted,
                    _ => Status::RolledBack,
                };
                set.weight = 0.0;
                set.end(status, reason.to_string());
                Some(kind)
            }
        };
        let warning = match event {
            Some(event) => {
                let at = found
                    .members
                    .iter()
                    .position(|m| m.link.index == focus)
                    .unwrap_or(0);
                let note = Notification::of_set(event, &set, at, alarms, now, self.home.source);
                self.home
                    .send(topic.or(self.home.default_topic), &note)
                    .await
            }
            None => None,
        };
        SetStopped {
            set,
            members,
            left_alone,
            unreached,
            event,
            warning,
        }
    }
}
