//! What people are told, one message per event: a JSON body for machines, a few plain lines
//! for people, a short subject, and attributes for subscription filter policies. Sending it
//! is a port of the use cases; an adapter delivers it over SNS.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::alarms::AlarmVerdict;
use crate::judgement::Judgement;
use crate::plan::format_percent;

/// The events people can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Started,
    Shifted,
    Succeeded,
    RolledBack,
    Failed,
    Aborted,
    /// An operator paused, resumed or promoted a rollout (`rollout pause|resume|promote`).
    Paused,
    Resumed,
    Promoted,
    HookSucceeded,
    HookFailed,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Started => "rollout.started",
            EventKind::Shifted => "rollout.shifted",
            EventKind::Succeeded => "rollout.succeeded",
            EventKind::RolledBack => "rollout.rolled_back",
            EventKind::Failed => "rollout.failed",
            EventKind::Aborted => "rollout.aborted",
            EventKind::Paused => "rollout.paused",
            EventKind::Resumed => "rollout.resumed",
            EventKind::Promoted => "rollout.promoted",
            EventKind::HookSucceeded => "hook.succeeded",
            EventKind::HookFailed => "hook.failed",
        }
    }

    pub fn severity(self) -> &'static str {
        match self {
            EventKind::RolledBack | EventKind::Failed | EventKind::HookFailed => "critical",
            EventKind::Aborted | EventKind::Paused => "warning",
            _ => "info",
        }
    }
}

/// The idempotency key of a rollout's event: one per rollout, step and event, so that a
/// replay that sends it again can be told from a new transition.
pub fn rollout_event_id(rollout_id: &str, step_index: usize, kind: EventKind) -> String {
    format!("{rollout_id}/{step_index}/{}", kind.as_str())
}

/// The idempotency key of an operator's pause, resume or promote: the rollout, its step, the
/// event and the request's own id (`opid=` on the marker), so that every retry of one request
/// — within one command or from a second run of it — is one event, and a second pause of the
/// same step (after a resume) is another.
pub fn control_event_id(
    rollout_id: &str,
    step_index: usize,
    kind: EventKind,
    control_id: &str,
) -> String {
    format!(
        "{}@{control_id}",
        rollout_event_id(rollout_id, step_index, kind)
    )
}

mod channels;
mod set;

pub use set::MemberNote;

/// One notification, in the JSON shape subscribers receive as `default`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub event: &'static str,
    /// The same for every delivery of one event: subscribers drop a duplicate by it.
    pub event_id: String,
    pub rollout_id: String,
    pub function_name: String,
    pub alias: String,
    pub from_version: String,
    pub to_version: String,
    pub weight: f64,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub alarms: Vec<AlarmVerdict>,
    pub timestamp: String,
    pub source: String,
    /// The evidence of a judged rollout: the state's `lastJudgement`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_judgement: Option<Judgement>,
    /// The release set, when the event is a set's: its top-level function and alias are then
    /// the member the event is about (the one that breached), or the set's first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
    /// Every member of the set, where each stands.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberNote>,
    #[serde(skip)]
    pub kind: Option<EventKind>,
    /// The function's ARN when the caller named it by ARN: EventBridge's `resources` (not in
    /// the JSON, whose `functionName` is always the plain name).
    #[serde(skip)]
    pub function_arn: Option<String>,
    /// The SNS topic this event goes to (the rollout's own, or its driver's default): where
    /// the SNS channel publishes it; not in the JSON.
    #[serde(skip)]
    pub topic_arn: Option<String>,
}

impl Notification {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: EventKind,
        rollout_id: &str,
        function_name: &str,
        alias: &str,
        (from_version, to_version): (&str, &str),
        weight: f64,
        status: &str,
        reason: Option<String>,
        alarms: Vec<AlarmVerdict>,
        now: DateTime<Utc>,
        source: &str,
    ) -> Notification {
        Notification {
            event: kind.as_str(),
            event_id: format!("{rollout_id}/{source}/{}", kind.as_str()),
            rollout_id: rollout_id.into(),
            function_name: crate::validate::short_function_name(function_name).into(),
            function_arn: function_name
                .starts_with("arn:")
                .then(|| function_name.to_string()),
            alias: alias.into(),
            from_version: from_version.into(),
            to_version: to_version.into(),
            weight,
            status: status.into(),
            reason,
            alarms,
            timestamp: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            source: source.into(),
            last_judgement: None,
            set: None,
            members: Vec::new(),
            kind: Some(kind),
            topic_arn: None,
        }
    }

    /// The same notification carrying the judgement it was made on, if any.
    pub fn judged(mut self, judgement: Option<Judgement>) -> Notification {
        self.last_judgement = judgement;
        self
    }

    fn kind(&self) -> EventKind {
        self.kind.unwrap_or(EventKind::Failed)
    }

    /// `orders-api:live rolled back 7 -> 6`: short, ASCII, at most 100 characters.
    pub fn subject(&self) -> String {
        if let Some(set) = &self.set {
            return printable_subject(self.set_subject(set));
        }
        let (f, t) = (&self.from_version, &self.to_version);
        let what = match self.kind() {
            EventKind::Started => format!(
                "rollout {f} -> {t} started at {}",
                format_percent(self.weight)
            ),
            EventKind::Shifted => format!("{} on {t} (from {f})", format_percent(self.weight)),
            EventKind::Succeeded => format!("promoted {f} -> {t}"),
            EventKind::RolledBack => format!("rolled back {t} -> {f}"),
            EventKind::Failed => format!("rollout {f} -> {t} failed"),
            EventKind::Aborted => format!("rollout {f} -> {t} aborted"),
            EventKind::Paused => format!("paused at {} on {t}", format_percent(self.weight)),
            EventKind::Resumed => format!("resumed at {} on {t}", format_percent(self.weight)),
            EventKind::Promoted => format!("promoted from {} on {t}", format_percent(self.weight)),
            EventKind::HookSucceeded => format!("hook passed for {t}"),
            EventKind::HookFailed => format!("hook failed for {t}"),
        };
        printable_subject(format!("{}:{} {what}", self.function_name, self.alias))
    }

    /// A few plain lines for people (the `email` protocol).
    pub fn text(&self) -> String {
        let mut lines = vec![self.subject(), String::new()];
        match &self.set {
            Some(_) => lines.extend(self.member_lines()),
            None => lines.extend([
                format!("Function: {}   Alias: {}", self.function_name, self.alias),
                format!(
                    "Versions: {} -> {}   Traffic on {}: {}   Status: {}",
                    self.from_version,
                    self.to_version,
                    self.to_version,
                    format_percent(self.weight),
                    self.status
                ),
            ]),
        }
        if let Some(reason) = &self.reason {
            lines.push(format!("Reason: {reason}"));
        }
        if !self.alarms.is_empty() {
            let alarms: Vec<String> = self
                .alarm_states()
                .map(|(name, state)| format!("{name} {state}"))
                .collect();
            lines.push(format!("Alarms: {}", alarms.join(", ")));
        }
        if let Some(j) = &self.last_judgement {
            let verdict = serde_json::to_value(j.verdict).unwrap_or_default();
            lines.push(format!(
                "Judgement: {} at {}: {}",
                verdict.as_str().unwrap_or("?"),
                j.at,
                j.reason
            ));
        }
        lines.push(format!(
            "Rollout: {}   At: {}   By: {}",
            self.rollout_id, self.timestamp, self.source
        ));
        lines.join("\n")
    }

    /// Each named alarm and its state as the JSON spells it (`ALARM`, `OK`, …), for texts.
    fn alarm_states(&self) -> impl Iterator<Item = (&str, String)> {
        self.alarms.iter().map(|a| {
            let state = serde_json::to_value(&a.state).unwrap_or_default();
            (a.name.as_str(), state.as_str().unwrap_or("?").to_string())
        })
    }

    /// The event as JSON: SNS's `default` message and EventBridge's `detail`, the same text.
    pub fn detail(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The SNS `Message` for `MessageStructure=json`.
    pub fn message(&self) -> String {
        serde_json::json!({ "default": self.detail(), "email": self.text() }).to_string()
    }

    /// `MessageAttributes` for filter policies (and `set`, for a set's events).
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        let mut attributes = vec![
            ("event", self.event.to_string()),
            ("functionName", self.function_name.clone()),
            ("alias", self.alias.clone()),
            ("severity", self.kind().severity().to_string()),
            ("eventId", self.event_id.clone()),
        ];
        if let Some(set) = &self.set {
            attributes.push(("set", set.clone()));
        }
        attributes
    }
}

/// ASCII only, at most 100 characters: what SNS takes as a `Subject`.
fn printable_subject(text: String) -> String {
    text.chars()
        .map(|c| match c.is_ascii_graphic() || c == ' ' {
            true => c,
            false => '?',
        })
        .take(100)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::AlarmState;
    use chrono::TimeZone;

    fn rolled_back() -> Notification {
        Notification::new(
            EventKind::RolledBack,
            "r-1",
            "arn:aws:lambda:us-east-1:123456789012:function:orders-api",
            "live",
            ("6", "7"),
            0.0,
            "RolledBack",
            Some("alarm errors is in ALARM".into()),
            vec![AlarmVerdict::new("errors", AlarmState::Alarm)],
            Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap(),
            "traffic-shifter",
        )
    }

    #[test]
    fn subject_is_short_and_human() {
        assert_eq!(
            rolled_back().subject(),
            "orders-api:live rolled back 7 -> 6"
        );
        let mut long = rolled_back();
        long.function_name = "é".repeat(200);
        assert!(long.subject().len() <= 100 && long.subject().is_ascii());
    }

    #[test]
    fn message_carries_json_default_and_email_text() {
        let message: serde_json::Value = serde_json::from_str(&rolled_back().message()).unwrap();
        let default: serde_json::Value =
            serde_json::from_str(message["default"].as_str().unwrap()).unwrap();
        assert_eq!(default["event"], "rollout.rolled_back");
        assert_eq!(
            default["eventId"],
            "r-1/traffic-shifter/rollout.rolled_back"
        );
        assert_eq!(default["functionName"], "orders-api");
        assert_eq!(default["timestamp"], "2026-11-22T15:00:00Z");
        assert_eq!(
            default["alarms"][0],
            serde_json::json!({"name": "errors", "state": "ALARM"})
        );
        let email = message["email"].as_str().unwrap();
        assert!(
            email.contains("Reason: alarm errors is in ALARM"),
            "{email}"
        );
        assert!(email.contains("Alarms: errors ALARM"), "{email}");
    }

    #[test]
    fn a_judged_rollout_carries_its_evidence_in_json_and_email() {
        use crate::judgement::{Analysis, VersionMetrics, Window};
        let m = |version: &str, invocations, errors| VersionMetrics {
            version: version.into(),
            invocations,
            errors,
            p99_ms: None,
        };
        let window = Window {
            start: "2026-11-22T14:55:00Z".into(),
            end: "2026-11-22T15:00:00Z".into(),
        };
        let j = Judgement::new(
            &Analysis::default(),
            m("7", 1000, 41),
            m("6", 9000, 12),
            window.end.clone(),
            window,
        );
        let message: serde_json::Value =
            serde_json::from_str(&rolled_back().judged(Some(j.clone())).message()).unwrap();
        let default: serde_json::Value =
            serde_json::from_str(message["default"].as_str().unwrap()).unwrap();
        assert_eq!(default["lastJudgement"]["verdict"], "fail");
        assert_eq!(default["lastJudgement"]["target"]["errorRate"], 0.041);
        assert_eq!(
            default["lastJudgement"]["current"]["p99Ms"],
            serde_json::Value::Null
        );
        let email = message["email"].as_str().unwrap();
        assert!(
            email.contains(&format!(
                "Judgement: fail at 2026-11-22T15:00:00Z: {}",
                j.reason
            )),
            "{email}"
        );
        let plain: serde_json::Value = serde_json::from_str(&rolled_back().message()).unwrap();
        assert!(!plain["default"].as_str().unwrap().contains("lastJudgement"));
    }

    #[test]
    fn attributes_let_subscribers_filter_by_severity() {
        let attrs = rolled_back().attributes();
        assert!(attrs.contains(&("severity", "critical".into())));
        assert!(attrs.contains(&("event", "rollout.rolled_back".into())));
        assert!(attrs.contains(&("eventId", "r-1/traffic-shifter/rollout.rolled_back".into())));
    }
}
