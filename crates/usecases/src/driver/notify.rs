//! Telling people, always after the alias is safe: one message per event, with an
//! idempotency key (`eventId`) so that a replay that sends an event again can be dropped by
//! subscribers. A failure to publish never blocks or undoes a write: it comes back as a
//! warning for the caller to report.

use chrono::{DateTime, Utc};
use rollout_core::notification::rollout_event_id;
use rollout_core::{AlarmVerdict, EventKind, InvalidField, Notification, Rollout, Spec, Status};

use super::Driver;

impl Driver<'_> {
    /// Tells people a rollout could not go on (an AWS error its driver gave up on), leaving
    /// the alias as it is; best effort, since the failure is already being reported.
    pub async fn report_failure(
        &self,
        rollout: &Rollout,
        reason: String,
        now: DateTime<Utc>,
    ) -> Rollout {
        let mut failed = rollout.clone();
        failed.end(Status::Failed, reason);
        // Best effort: `send` logs a lost notice, and the failure is being reported anyway.
        // Each report is its own event (two stops of one driver are two alerts).
        let mut note = self.notification(EventKind::Failed, &failed, Vec::new(), now);
        note.event_id = format!("{}@{}", note.event_id, now.timestamp_millis());
        let _ = self.send(self.topic(&failed.spec), &note).await;
        failed
    }

    /// Refuses a start whose topic cannot be published to (it does not exist, is in another
    /// region, or is not allowed): every alert would be lost.
    pub(crate) async fn check_topic(&self, spec: &Spec) -> Result<(), InvalidField> {
        let Some(topic) = self.topic(spec) else {
            return Ok(());
        };
        self.topic_usable(topic)
            .await
            .map_err(|why| InvalidField::new("notificationTopicArn", why))
    }

    /// Whether `topic` can be published to; why not, when it cannot. A check that fails for
    /// now does not hold anything up.
    pub async fn topic_usable(&self, topic: &str) -> Result<(), String> {
        match self.topics.check_topic(topic).await {
            Err(e) if !e.transient => Err(format!("{topic} cannot be published to: {}", e.message)),
            _ => Ok(()),
        }
    }

    pub(crate) fn alarm_names(&self, spec: &Spec) -> Vec<String> {
        self.alarm_names_of(&spec.alarms)
    }

    /// `alarms` and the driver's extra ones, each once.
    pub(crate) fn alarm_names_of(&self, alarms: &[String]) -> Vec<String> {
        let mut names = alarms.to_vec();
        for extra in self.extra_alarms {
            if !names.contains(extra) {
                names.push(extra.clone());
            }
        }
        names
    }

    /// The topic `spec`'s events go to, if any.
    pub(crate) fn topic<'s>(&'s self, spec: &'s Spec) -> Option<&'s str> {
        spec.notification_topic_arn
            .as_deref()
            .or(self.default_topic)
    }

    /// Tells people of one event for `rollout` (keyed by its rollout, step and event); runs
    /// after the alias write, so a failure here never blocks or undoes it: it comes back as
    /// the warning the caller reports once the alias is safe.
    pub(crate) async fn notify(
        &self,
        kind: EventKind,
        rollout: &Rollout,
        alarms: Vec<AlarmVerdict>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        tracing::info!(event = kind.as_str(), rollout = %rollout.rollout_id, weight = rollout.weight, status = rollout.status.as_str(), "rollout event");
        let note = self.notification(kind, rollout, alarms, now);
        self.send(self.topic(&rollout.spec), &note).await
    }

    /// The message for `kind` about `rollout`, keyed by its rollout, step and event.
    fn notification(
        &self,
        kind: EventKind,
        rollout: &Rollout,
        alarms: Vec<AlarmVerdict>,
        now: DateTime<Utc>,
    ) -> Notification {
        let spec = &rollout.spec;
        let mut note = Notification::new(
            kind,
            &rollout.rollout_id,
            &spec.function_name,
            &spec.alias,
            (
                spec.current_version.as_deref().unwrap_or_default(),
                &spec.target_version,
            ),
            rollout.weight,
            rollout.status.as_str(),
            rollout.reason.clone(),
            alarms,
            now,
            self.source,
        )
        .judged(rollout.last_judgement.clone());
        note.event_id = rollout_event_id(&rollout.rollout_id, rollout.step_index, kind);
        note
    }

    /// The one place a driver's events go out: every channel the announcer holds (the SNS
    /// channel to `topic`, when there is one); what failed comes back as the warning, for
    /// the caller to report once the alias is safe.
    pub(crate) async fn send(&self, topic: Option<&str>, note: &Notification) -> Option<String> {
        let mut note = note.clone();
        note.topic_arn = topic.map(String::from);
        let failures = self.announcer.announce(&note).await?;
        Some(format!("{}, but {failures}", note.status))
    }
}
