//! The announcer: every event goes to every channel configured (SNS, EventBridge, AWS Chatbot,
//! a webhook), all at once so that a slow one holds up none of the others, each tried again
//! while it fails in a way that may pass, within the read bound. It runs after the alias is
//! safe: a failure never blocks or undoes anything, it comes back as the warning the caller
//! reports. Every channel carries the same `eventId`, so a subscriber drops a duplicate.

use std::sync::{Arc, Mutex};

use rollout_core::Notification;

use crate::patience::{retrying, Patience};
use crate::ports::Channel;

/// The channels events go to, and how long each is tried.
#[derive(Clone)]
pub struct Announcer<'a> {
    channels: Vec<&'a dyn Channel>,
    patience: Patience,
    /// Failures of best-effort channels since the last look (see [`Announcer::take_notes`]).
    notes: Arc<Mutex<Vec<String>>>,
}

impl<'a> Announcer<'a> {
    pub fn new(channels: Vec<&'a dyn Channel>, patience: Patience) -> Self {
        Announcer {
            channels,
            patience,
            notes: Arc::default(),
        }
    }

    /// The same channels, tried within `patience`.
    pub fn with_patience(mut self, patience: Patience) -> Self {
        self.patience = patience;
        self
    }

    /// Tells every channel of `note`; what failed on the channels a driver answers for, as one
    /// warning (`the notification could not be published: …; the event could not be sent to
    /// EventBridge: …`). A best-effort channel's failure is noted apart ([`Announcer::take_notes`]).
    pub async fn announce(&self, note: &Notification) -> Option<String> {
        let sent = self.channels.iter().map(|c| async {
            let failure = self.send(*c, note).await?;
            if c.best_effort() {
                self.notes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(failure);
                return None;
            }
            Some(failure)
        });
        let failures: Vec<String> = futures::future::join_all(sent)
            .await
            .into_iter()
            .flatten()
            .collect();
        (!failures.is_empty()).then(|| failures.join("; "))
    }

    /// The failures of best-effort channels (webhooks) since the last look, for a driver with
    /// someone to show them to.
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// One channel, tried again within its bound (the read bound, or less if the channel
    /// says so); whatever it does, it is given up on at twice that bound (a channel's own call
    /// that never ends holds up no alert for long).
    async fn send(&self, channel: &dyn Channel, note: &Notification) -> Option<String> {
        let bound = channel
            .bound()
            .map_or(self.patience.reads, |b| b.min(self.patience.reads));
        let mut backoff = self.patience.backoff(bound);
        let tried = retrying(&mut backoff, async || channel.send(note).await);
        let message = match tokio::time::timeout(bound * 2, tried).await {
            Ok(Ok(())) => return None,
            Ok(Err(e)) => e.message,
            Err(_) => format!("no answer within {}s", (bound * 2).as_secs()),
        };
        let failure = format!("{}: {message}", channel.failure());
        tracing::error!(%failure, event = note.event, event_id = %note.event_id, "alias is safe; an event was not told");
        Some(failure)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::ports::CallFailed;
    use crate::testing::note;

    /// Fails as scripted, then sends; records what it sent.
    #[derive(Default)]
    struct Scripted {
        failures: Mutex<Vec<CallFailed>>,
        sent: Mutex<Vec<String>>,
        hang: bool,
    }

    #[async_trait::async_trait]
    impl Channel for Scripted {
        fn failure(&self) -> String {
            "the event could not be sent to the test channel".into()
        }

        async fn send(&self, n: &Notification) -> Result<(), CallFailed> {
            if self.hang {
                std::future::pending::<()>().await;
            }
            if let Some(e) = self.failures.lock().unwrap().pop() {
                return Err(e);
            }
            self.sent.lock().unwrap().push(n.event_id.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_best_effort_channel_fails_no_step_and_is_noted_apart() {
        struct Webhook;
        #[async_trait::async_trait]
        impl Channel for Webhook {
            fn failure(&self) -> String {
                "the event could not be sent to the webhook https://hooks.example/…".into()
            }
            fn best_effort(&self) -> bool {
                true
            }
            async fn send(&self, _: &Notification) -> Result<(), CallFailed> {
                Err(failed(false))
            }
        }
        let fine = Scripted::default();
        let announcer = Announcer::new(vec![&Webhook, &fine], Patience::default());
        assert_eq!(
            announcer.announce(&note("r-1/0/rollout.started")).await,
            None
        );
        assert_eq!(
            announcer.take_notes(),
            ["the event could not be sent to the webhook https://hooks.example/…: 403"]
        );
        assert!(announcer.take_notes().is_empty(), "taken once");
    }

    fn failed(transient: bool) -> CallFailed {
        CallFailed {
            operation: "Send",
            message: if transient { "503" } else { "403" }.into(),
            transient,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_channel_gets_the_event_and_one_that_fails_for_now_is_tried_again() {
        let flaky = Scripted {
            failures: Mutex::new(vec![failed(true), failed(true)]),
            ..Scripted::default()
        };
        let refusing = Scripted {
            failures: Mutex::new(vec![failed(false)]),
            ..Scripted::default()
        };
        let fine = Scripted::default();
        let announcer = Announcer::new(vec![&flaky, &refusing, &fine], Patience::default());
        let warning = announcer.announce(&note("r-1/0/rollout.started")).await;
        assert_eq!(*flaky.sent.lock().unwrap(), ["r-1/0/rollout.started"]);
        assert_eq!(*fine.sent.lock().unwrap(), ["r-1/0/rollout.started"]);
        assert!(
            refusing.sent.lock().unwrap().is_empty(),
            "a refusal is not retried"
        );
        assert_eq!(
            warning.as_deref(),
            Some("the event could not be sent to the test channel: 403")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_channel_that_never_answers_holds_up_no_other_and_is_given_up_at_its_bound() {
        let stuck = Scripted {
            hang: true,
            ..Scripted::default()
        };
        let fine = Scripted::default();
        let patience = Patience {
            reads: Duration::from_secs(8),
            ..Patience::default()
        };
        let announcer = Announcer::new(vec![&stuck, &fine], patience);
        let started = tokio::time::Instant::now();
        let warning = announcer.announce(&note("r-1/0/rollout.rolled_back")).await;
        assert_eq!(*fine.sent.lock().unwrap(), ["r-1/0/rollout.rolled_back"]);
        assert_eq!(started.elapsed(), Duration::from_secs(16));
        assert_eq!(
            warning.as_deref(),
            Some("the event could not be sent to the test channel: no answer within 16s")
        );
    }
}
