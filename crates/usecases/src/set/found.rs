//! A set found from one of its members (the alias an alarm guards, the one an operator names):
//! that alias read in the caller's place, the whole set walked when its marker links it to one,
//! and the operator's word on the set, written on its lead.

use chrono::{DateTime, Utc};
use rollout_core::engine::control::{ControlRefused, Operator};
use rollout_core::notification::control_event_id;
use rollout_core::set::MemberSpec;
use rollout_core::{AliasState, Notification, Status};

use super::ring::{self, FoundSet};
use super::SetDriver;
use crate::driver::{ControlError, ControlRequest, Controlled, DriveError};
use crate::patience::retrying;
use crate::ports::AliasError;

impl SetDriver<'_> {
    /// `function`'s `alias` in the caller's place, as a member would name it.
    fn home_member(&self, function: &str, alias: &str) -> MemberSpec {
        ring::home_member(self.places, function, alias)
    }

    /// `function`'s `alias` in the caller's place, read patiently.
    pub async fn read_home(&self, function: &str, alias: &str) -> Result<AliasState, DriveError> {
        let member = self.home_member(function, alias);
        let place = self
            .places
            .place(&member)
            .await
            .map_err(|e| DriveError::Alias(AliasError::Aws(e)))?;
        let mut backoff = self.home.patience.backoff(self.home.patience.reads);
        Ok(retrying(&mut backoff, async || {
            place.aliases.get(function, alias).await
        })
        .await?)
    }

    /// The set `function`'s `alias` (as just read, in the caller's place) is a member of,
    /// when its marker still describes it and links it to one: every member the ring reaches.
    pub async fn found_from(
        &self,
        function: &str,
        alias_name: &str,
        alias: AliasState,
    ) -> Result<Option<FoundSet>, DriveError> {
        let member = self.home_member(function, alias_name);
        Ok(ring::walk(self.places, &self.home.patience, member, alias).await?)
    }

    /// `op` for the whole set, written on its lead (the set's driver takes the operator's
    /// word from the lead alone) by the one-alias control in the lead's place; then told once,
    /// as the set's event. Refused when the lead is not this set's any more.
    pub async fn control(
        &self,
        found: &FoundSet,
        op: Operator,
        reason: &str,
        topic: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Controlled, ControlError> {
        let Some(lead) = found.lead() else {
            return Err(ControlRefused(format!(
                "the lead of set {} (members[0]), which carries the set's pause, resume and promote, is not this set's any more (changed by someone else); nothing to {}",
                found.name,
                op.verb()
            ))
            .into());
        };
        let place = self
            .places
            .place(&lead.spec)
            .await
            .map_err(|e| DriveError::Alias(AliasError::Aws(e)))?;
        let request = ControlRequest {
            function: &lead.spec.function_name,
            alias: &lead.spec.alias,
            op,
            reason,
            topic: None,
        };
        // Quiet: the set is told once below, naming every member.
        let mut done = self.member_driver(place).control(request, now).await?;
        let mut set = found.state();
        set.status = Status::InProgress;
        set.control = Some(op.control());
        set.control_id = Some(done.control_id.clone());
        set.reason = Some(done.reason.clone());
        let kind = op.event();
        let mut note = Notification::of_set(kind, &set, 0, Vec::new(), now, self.home.source);
        note.event_id = control_event_id(&done.rollout_id, done.step_index, kind, &done.control_id);
        done.warning = self
            .home
            .send(topic.or(self.home.default_topic), &note)
            .await;
        Ok(done)
    }
}
