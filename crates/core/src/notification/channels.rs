//! What an event looks like on the channels that are not SNS's own JSON: AWS Chatbot's custom
//! notification (Amazon Q Developer in chat applications: Slack, Microsoft Teams, Chime) and
//! a webhook's body. Pure content; the adapters send it.

use serde_json::{json, Value};

use super::{EventKind, Notification};
use crate::plan::format_percent;

/// Chatbot's limits, kept with room: a title of one line, a description a chat shows whole.
const TITLE_MAX_CHARS: usize = 250;
const DESCRIPTION_MAX_CHARS: usize = 4000;

impl Notification {
    /// The event in AWS Chatbot's custom-notification format (`version` 1.0, `source`
    /// `custom`): a title, a description in client markdown, the exact `rollout` commands to
    /// go on with (`nextSteps`), and one thread per rollout (`threadId` = the rollout id).
    pub fn chatbot(&self) -> Value {
        let mut related = vec![self
            .function_arn
            .clone()
            .unwrap_or_else(|| self.function_name.clone())];
        related.dedup();
        json!({
            "version": "1.0",
            "source": "custom",
            "id": self.event_id,
            "content": {
                "textType": "client-markdown",
                "title": cut(&format!("{} {}", self.icon(), self.subject()), TITLE_MAX_CHARS),
                "description": cut(&self.markdown(), DESCRIPTION_MAX_CHARS),
                "nextSteps": self.next_steps(),
                "keywords": [self.event, self.function_name, self.alias],
            },
            "metadata": {
                "threadId": self.rollout_id,
                "summary": self.subject(),
                "eventType": self.event,
                "relatedResources": related,
                "additionalContext": {
                    "eventId": self.event_id,
                    "status": self.status,
                },
            },
        })
    }

    /// A webhook's body: the event's JSON (as SNS's `default` and EventBridge's `detail`)
    /// plus `text`, its one-line summary, which a Slack incoming webhook shows as the message.
    pub fn webhook_body(&self) -> String {
        let mut body = serde_json::to_value(self).unwrap_or_default();
        if let Value::Object(map) = &mut body {
            map.insert("text".into(), Value::String(self.subject()));
        }
        body.to_string()
    }

    fn icon(&self) -> &'static str {
        match self.kind.map(EventKind::severity) {
            Some("critical") => ":rotating_light:",
            Some("warning") => ":warning:",
            _ => ":information_source:",
        }
    }

    /// The event for people, in client markdown.
    fn markdown(&self) -> String {
        let mut lines = vec![format!(
            "*{}* `{}:{}` — version {} → {}, {} on {}. Status *{}*.",
            self.event,
            self.function_name,
            self.alias,
            self.from_version,
            self.to_version,
            format_percent(self.weight),
            self.to_version,
            self.status
        )];
        if let Some(reason) = &self.reason {
            lines.push(format!("*Why:* {reason}"));
        }
        if !self.alarms.is_empty() {
            let alarms: Vec<String> = self
                .alarm_states()
                .map(|(name, state)| format!("`{name}` {state}"))
                .collect();
            lines.push(format!("*Alarms:* {}", alarms.join(", ")));
        }
        if let Some(j) = &self.last_judgement {
            let verdict = serde_json::to_value(j.verdict).unwrap_or_default();
            lines.push(format!(
                "*Judgement:* {}: {}",
                verdict.as_str().unwrap_or("?"),
                j.reason
            ));
        }
        lines.push(format!(
            "Rollout `{}` · {} · by {}",
            self.rollout_id, self.timestamp, self.source
        ));
        lines.join("\n")
    }

    /// The exact commands that go on from this event.
    fn next_steps(&self) -> Vec<String> {
        let function = self.function_arn.as_deref().unwrap_or(&self.function_name);
        let on = format!("--function {function} --alias {}", self.alias);
        let kind = self.kind.unwrap_or(EventKind::Failed);
        // `rollout pause --function F --alias A`, `rollout status --watch --function …`.
        let cmd = |what: &str| format!("`rollout {what} {on}`");
        let report = format!("`rollout report {on} --out report.html`");
        match kind {
            EventKind::Started | EventKind::Shifted | EventKind::Resumed | EventKind::Promoted => vec![
                format!("Hold it: {}", cmd("pause")),
                format!("Put it back now: {}", cmd("abort")),
                format!("Follow it: {}", cmd("status --watch")),
            ],
            EventKind::Paused => vec![
                format!("Resume it: {}", cmd("resume")),
                format!("Put it back now: {}", cmd("abort")),
            ],
            EventKind::Succeeded => vec![
                format!("Undo it (back to version {}): {}", self.from_version, cmd("undo")),
                format!("See it: {}", report),
            ],
            EventKind::RolledBack | EventKind::Aborted => vec![
                format!(
                    "Resume it once fixed (or with a new version): `rollout run {on} --to {} --from {}`",
                    self.to_version, self.from_version
                ),
                format!("See what happened: {}", report),
            ],
            EventKind::Failed => vec![
                format!("Put it back on version {}: {}", self.from_version, cmd("abort")),
                format!(
                    "Or resume it: `rollout run {on} --to {} --from {}`",
                    self.to_version, self.from_version
                ),
            ],
            EventKind::HookSucceeded | EventKind::HookFailed => vec![format!(
                "See the deployment: `aws deploy get-deployment --deployment-id {}`",
                self.rollout_id
            )],
        }
    }
}

/// `text` cut to `max` characters, on a character boundary.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::{AlarmState, AlarmVerdict};
    use chrono::TimeZone;

    fn note(kind: EventKind) -> Notification {
        let mut n = Notification::new(
            kind,
            "r-20261207T210000000Z",
            "arn:aws:lambda:eu-west-1:123456789012:function:orders-api",
            "live",
            ("6", "7"),
            0.1,
            "RolledBack",
            Some("alarm orders-errors went to ALARM".into()),
            vec![AlarmVerdict::new("orders-errors", AlarmState::Alarm)],
            chrono::Utc.with_ymd_and_hms(2026, 12, 7, 21, 0, 0).unwrap(),
            "rollout-cli",
        );
        n.event_id = format!("r-20261207T210000000Z/1/{}", kind.as_str());
        n
    }

    /// The fields and values AWS documents for a custom notification.
    fn assert_custom_notification(m: &Value) {
        assert_eq!(m["version"], "1.0");
        assert_eq!(m["source"], "custom");
        assert_eq!(m["content"]["textType"], "client-markdown");
        for field in ["title", "description"] {
            assert!(
                m["content"][field].as_str().is_some_and(|s| !s.is_empty()),
                "{field}"
            );
        }
        assert!(m["content"]["title"].as_str().unwrap().chars().count() <= TITLE_MAX_CHARS);
        let steps = m["content"]["nextSteps"].as_array().unwrap();
        assert!(!steps.is_empty() && steps.iter().all(Value::is_string));
        for field in ["threadId", "summary", "eventType"] {
            assert!(m["metadata"][field].is_string(), "{field}");
        }
        assert!(m["metadata"]["relatedResources"].is_array());
    }

    #[test]
    fn a_rollback_is_a_custom_notification_threaded_by_rollout_with_the_command_to_resume() {
        let m = note(EventKind::RolledBack).chatbot();
        assert_custom_notification(&m);
        assert_eq!(m["metadata"]["threadId"], "r-20261207T210000000Z");
        assert_eq!(m["metadata"]["eventType"], "rollout.rolled_back");
        assert_eq!(
            m["metadata"]["relatedResources"][0],
            "arn:aws:lambda:eu-west-1:123456789012:function:orders-api"
        );
        let steps = m["content"]["nextSteps"].to_string();
        assert!(steps.contains("rollout run --function arn:aws:lambda:eu-west-1:123456789012:function:orders-api --alias live --to 7 --from 6"), "{steps}");
        let description = m["content"]["description"].as_str().unwrap();
        assert!(description.contains("alarm orders-errors went to ALARM"));
        assert!(
            description.contains("`orders-errors` ALARM"),
            "{description}"
        );
    }

    #[test]
    fn each_event_offers_the_commands_that_go_on_from_it() {
        let steps = |kind| note(kind).chatbot()["content"]["nextSteps"].to_string();
        assert!(steps(EventKind::Succeeded).contains("rollout undo --function"));
        assert!(steps(EventKind::Paused).contains("rollout resume --function"));
        assert!(steps(EventKind::Shifted).contains("rollout pause --function"));
        assert!(steps(EventKind::Failed).contains("rollout abort --function"));
        for kind in [
            EventKind::Started,
            EventKind::HookFailed,
            EventKind::Aborted,
        ] {
            assert_custom_notification(&note(kind).chatbot());
        }
    }

    #[test]
    fn a_webhook_body_is_the_event_json_with_a_line_for_slack() {
        let n = note(EventKind::RolledBack);
        let body: Value = serde_json::from_str(&n.webhook_body()).unwrap();
        assert_eq!(body["eventId"], n.event_id);
        assert_eq!(body["event"], "rollout.rolled_back");
        assert_eq!(body["text"], "orders-api:live rolled back 7 -> 6");
        let mut detail: Value = serde_json::from_str(&n.detail()).unwrap();
        detail["text"] = body["text"].clone();
        assert_eq!(body, detail, "the same JSON as SNS's default, plus text");
    }
}
