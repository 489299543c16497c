//! An operator's pause, resume and promote (`rollout pause|resume|promote`): recorded on the
//! alias's marker with the RevisionId just read (the same version and routing), so that
//! whichever driver owns the rollout takes it on its next check; then told over SNS.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::calls::retrying;
use super::{DriveError, Driver};
use crate::ports::AliasError;
use rollout_core::engine::control::{self, records, ControlRefused, ControlWrite, Operator};
use rollout_core::notification::control_event_id;
use rollout_core::state::new_control_id;
use rollout_core::{Notification, Status};

/// How many times in a row the alias may change under a request before it gives up.
const MAX_CONFLICTS: u32 = 10;

/// What an operator asks, of which alias.
pub struct ControlRequest<'a> {
    pub function: &'a str,
    pub alias: &'a str,
    pub op: Operator,
    pub reason: &'a str,
    /// Where to tell people (the driver's default topic otherwise).
    pub topic: Option<&'a str>,
}

/// What a pause, resume or promote did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Controlled {
    pub function_name: String,
    pub alias: String,
    pub rollout_id: String,
    /// `rollout.paused`, `rollout.resumed`, `rollout.promoted`.
    pub event: &'static str,
    pub step_index: usize,
    pub weight: f64,
    pub alias_revision_id: String,
    pub reason: String,
    /// The request's id (`opid=` on the marker); its alert's eventId ends with it.
    pub control_id: String,
    /// True when the alias already recorded this same request (a retry): nothing was
    /// written, and its alert was sent again under the same eventId.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub already_recorded: bool,
    /// Set when the alias was written but telling people failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Nothing to do, or nothing that may be done: the alias was not touched.
    #[error(transparent)]
    Refused(#[from] ControlRefused),
    #[error(transparent)]
    Drive(#[from] DriveError),
}

impl From<AliasError> for ControlError {
    fn from(e: AliasError) -> Self {
        ControlError::Drive(e.into())
    }
}

impl Driver<'_> {
    /// Records `request.op` on the rollout the alias carries, then notifies. Each request has
    /// its own id (`opid=` on the marker, kept by the driver's later writes), so a write
    /// whose answer was lost is found on a re-read even after the owning driver has taken it
    /// and moved on, and is never applied twice; also when the retries after it gave up on
    /// throttling. An alias moved on without it is decided again from scratch. A retry of a
    /// request the alias already records (same word, by, reason) writes nothing and sends
    /// the alert it may owe, under the same eventId.
    pub async fn control(
        &self,
        request: ControlRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<Controlled, ControlError> {
        let ControlRequest {
            function,
            alias: alias_name,
            op,
            reason,
            topic,
        } = request;
        let id = new_control_id(now);
        let mut backoff = self.patience.backoff(self.patience.reads);
        let read = async |backoff: &mut crate::patience::Backoff| {
            retrying(backoff, async || {
                self.aliases.get(function, alias_name).await
            })
            .await
        };
        let mut alias = read(&mut backoff).await?;
        let mut conflicts = 0;
        let (marker, revision, retold) = loop {
            let (marker, update) = match control::control(&alias, op, self.source, reason, &id)? {
                ControlWrite::Write(marker, update) => (marker, update),
                ControlWrite::AlreadyRecorded(marker) => break (marker, alias.revision_id, true),
            };
            let written = retrying(&mut backoff, async || {
                self.aliases
                    .update(function, alias_name, &update, &alias.revision_id)
                    .await
            })
            .await;
            match written {
                Ok(written) => break (marker, written.revision_id, false),
                Err(AliasError::Conflict) if conflicts < MAX_CONFLICTS => {
                    conflicts += 1;
                    let now_alias = read(&mut backoff).await?;
                    if records(&now_alias, &id).is_some() {
                        // Our write landed; its answer was lost (a driver may have taken it).
                        break (marker, now_alias.revision_id, false);
                    }
                    alias = now_alias;
                }
                // Given up for now, but an attempt may have landed with its answer lost (the
                // SDK's retries then met throttling): one last, patient read tells.
                Err(error) if error.is_transient() => {
                    let mut last = self.patience.backoff(self.patience.reads);
                    match read(&mut last).await {
                        Ok(now_alias) if records(&now_alias, &id).is_some() => {
                            break (marker, now_alias.revision_id, false)
                        }
                        _ => return Err(error.into()),
                    }
                }
                Err(other) => return Err(other.into()),
            }
        };
        let kind = op.event();
        let weight = marker.weight.unwrap_or(match &alias.routing {
            Some((_, w)) => *w,
            None => 1.0,
        });
        let told = match op {
            Operator::Promote { full: true } => {
                format!("{reason} (straight to 100 %; the bake time still applies)")
            }
            _ => reason.to_string(),
        };
        let control_id = marker.control_id.clone().unwrap_or(id);
        let mut done = Controlled {
            function_name: function.into(),
            alias: alias_name.into(),
            rollout_id: marker.rollout_id.clone(),
            event: kind.as_str(),
            step_index: marker.step_index,
            weight,
            alias_revision_id: revision,
            reason: told.clone(),
            control_id: control_id.clone(),
            already_recorded: retold,
            warning: None,
        };
        let mut note = Notification::new(
            kind,
            &marker.rollout_id,
            function,
            alias_name,
            (&marker.from_version, &marker.to_version),
            weight,
            Status::InProgress.as_str(),
            Some(told),
            Vec::new(),
            now,
            self.source,
        );
        note.event_id = control_event_id(&marker.rollout_id, marker.step_index, kind, &control_id);
        done.warning = self.send(topic.or(self.default_topic), &note).await;
        Ok(done)
    }
}
