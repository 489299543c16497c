//! A release set's events: one per set step, naming the set and every member where it stands.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{EventKind, Notification};
use crate::alarms::AlarmVerdict;
use crate::plan::format_percent;
use crate::set::SetRollout;
use crate::state::Status;

/// One member of a set, as its events list it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberNote {
    pub function_name: String,
    pub alias: String,
    pub from_version: String,
    pub to_version: String,
    pub weight: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// How the member ended when not as the set did (`Aborted`: left as someone set it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

impl Notification {
    /// The event `kind` of a set: keyed `<rolloutId>/<step>/<event>` like one alias's; its
    /// top-level function, alias and versions are member `focus`'s (the one that breached,
    /// or the first).
    pub fn of_set(
        kind: EventKind,
        set: &SetRollout,
        focus: usize,
        alarms: Vec<AlarmVerdict>,
        now: DateTime<Utc>,
        source: &str,
    ) -> Notification {
        let m = &set.members[focus.min(set.members.len() - 1)];
        let mut note = Notification::new(
            kind,
            &set.rollout_id,
            &m.spec.function_name,
            &m.spec.alias,
            (
                m.spec.current_version.as_deref().unwrap_or_default(),
                &m.spec.target_version,
            ),
            set.weight,
            set.status.as_str(),
            set.reason.clone(),
            alarms,
            now,
            source,
        )
        .judged(m.last_judgement.clone());
        note.event_id = super::rollout_event_id(&set.rollout_id, set.step_index, kind);
        note.set = Some(set.set.clone());
        note.members = set
            .members
            .iter()
            .map(|m| MemberNote {
                function_name: crate::validate::short_function_name(&m.spec.function_name).into(),
                alias: m.spec.alias.clone(),
                from_version: m.spec.current_version.clone().unwrap_or_default(),
                to_version: m.spec.target_version.clone(),
                weight: m.weight,
                region: m
                    .spec
                    .region
                    .clone()
                    .or(m.spec.arn_region().map(String::from)),
                status: m.status,
            })
            .collect();
        note
    }

    /// `checkout (3 functions) rolled back: orders-worker:live alarm worker-dlq-depth in ALARM`.
    pub(super) fn set_subject(&self, set: &str) -> String {
        let n = self.members.len();
        let because = |what: &str| match &self.reason {
            Some(reason) => format!("{what}: {reason}"),
            None => what.to_string(),
        };
        let at = format_percent(self.weight);
        let what = match self.kind() {
            EventKind::Started => format!("started at {at}"),
            EventKind::Shifted => format!("at {at}"),
            EventKind::Succeeded => "promoted".to_string(),
            EventKind::RolledBack => because("rolled back"),
            EventKind::Failed => because("failed"),
            EventKind::Aborted => because("aborted"),
            EventKind::Paused => format!("paused at {at}"),
            EventKind::Resumed => format!("resumed at {at}"),
            EventKind::Promoted => format!("promoted from {at}"),
            EventKind::HookSucceeded | EventKind::HookFailed => self.event.to_string(),
        };
        let functions = if n == 1 { "function" } else { "functions" };
        format!("{set} ({n} {functions}) {what}")
    }

    /// A line per member: `orders-api:live 2 -> 3, 10% on 3`.
    pub(super) fn member_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "Set: {}   Status: {}",
            self.set.as_deref().unwrap_or_default(),
            self.status
        )];
        for m in &self.members {
            let mut line = format!(
                "  {}:{} {} -> {}, {} on {}",
                m.function_name,
                m.alias,
                m.from_version,
                m.to_version,
                format_percent(m.weight),
                m.to_version
            );
            if let Some(region) = &m.region {
                line.push_str(&format!(" ({region})"));
            }
            if let Some(status) = m.status {
                line.push_str(&format!(" [{}]", status.as_str()));
            }
            lines.push(line);
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::AlarmState;
    use crate::set::SetSpec;
    use serde_json::json;

    fn rolled_back() -> Notification {
        let spec: SetSpec = serde_json::from_value(json!({"set": "checkout", "members": [
            {"functionName": "orders-api", "alias": "live", "targetVersion": "3"},
            {"functionName": "orders-worker", "alias": "live", "targetVersion": "7"},
            {"functionName": "orders-eu", "alias": "live", "targetVersion": "5", "region": "eu-west-1"}],
            "strategy": "Canary10Percent5Minutes"}))
        .unwrap();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let mut set = SetRollout::new(
            &spec,
            "r-20261207T210000123Z".into(),
            &["2".into(), "6".into(), "4".into()],
            now,
        );
        set.end(
            Status::RolledBack,
            "orders-worker:live alarm worker-dlq-depth in ALARM".into(),
        );
        let alarms = vec![AlarmVerdict::new("worker-dlq-depth", AlarmState::Alarm)];
        Notification::of_set(EventKind::RolledBack, &set, 1, alarms, now, "rollout-cli")
    }

    #[test]
    fn a_sets_subject_names_the_set_and_the_cause() {
        assert_eq!(
            rolled_back().subject(),
            "checkout (3 functions) rolled back: orders-worker:live alarm worker-dlq-depth in ALARM"
        );
    }

    #[test]
    fn a_sets_event_lists_every_member_and_keeps_the_event_id_shape() {
        let note = rolled_back();
        let json: serde_json::Value = serde_json::from_str(&note.detail()).unwrap();
        assert_eq!(json["set"], "checkout");
        assert_eq!(
            json["eventId"],
            "r-20261207T210000123Z/0/rollout.rolled_back"
        );
        assert_eq!(
            json["functionName"], "orders-worker",
            "the member that breached"
        );
        assert_eq!(json["members"].as_array().unwrap().len(), 3);
        assert_eq!(json["members"][2]["region"], "eu-west-1");
        assert_eq!(json["members"][0]["fromVersion"], "2");
        assert!(note
            .text()
            .contains("  orders-eu:live 4 -> 5, 0% on 5 (eu-west-1)"));
        assert!(note.attributes().contains(&("set", "checkout".into())));
    }
}
