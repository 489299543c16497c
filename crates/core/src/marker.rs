//! The marker codec: what a rollout writes into its alias's description with every update,
//! `lambda-rollout id=… from=… to=… step=… w=… status=… [next=…] [op=…] [opid=…]
//! [set=… nx=… pv=…] [by=…] [why=…]`. It is how a
//! replayed state or start recognises progress already made (and the alert it owes), and how
//! `status`, `abort` and alarm-rollback know a rollout from the alias alone. A marker is only
//! trusted while the alias still looks as it says ([`Marker::describes`]).

use chrono::{DateTime, Utc};

use crate::alias::{AliasState, DESCRIPTION_MAX_CHARS};
use crate::plan::round_weight;
use crate::state::{check_control_id, check_rollout_id, Control, Rollout, SetLink, Status};

/// What a rollout writes into its alias's description with every update.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub rollout_id: String,
    pub from_version: String,
    pub to_version: String,
    pub step_index: usize,
    /// The traffic on `to_version` this write left (`None` in markers of older releases).
    pub weight: Option<f64>,
    pub status: Status,
    pub next_step_at: Option<DateTime<Utc>>,
    /// An operator's last say on a rollout in progress (`op=`): paused, resumed, promoted.
    pub control: Option<Control>,
    /// The id of the operator's last request (`opid=`), kept by the driver's later writes
    /// after the request itself is consumed: how an operator command tells its own write.
    pub control_id: Option<String>,
    /// Who ended it, when not the rollout itself (`alarm-rollback:orders-errors`,
    /// `rollout-cli`), or who paused, resumed or promoted it.
    pub by: Option<String>,
    /// Why it ended (or was paused, resumed, promoted), so that a replay can still tell
    /// people the real reason.
    pub why: Option<String>,
    /// The release set this alias is a member of, and its neighbours (`set=`, `nx=`, `pv=`).
    pub set: Option<SetLink>,
}

const MARKER_PREFIX: &str = "lambda-rollout ";
/// Room kept for `by=` and `why=`, in bytes once escaped.
const BY_MAX_BYTES: usize = 60;

impl Marker {
    pub fn of(rollout: &Rollout) -> Marker {
        Marker {
            rollout_id: rollout.rollout_id.clone(),
            from_version: rollout.spec.current_version.clone().unwrap_or_default(),
            to_version: rollout.spec.target_version.clone(),
            step_index: rollout.step_index,
            weight: Some(match rollout.status {
                Status::InProgress => rollout.weight,
                Status::Succeeded => 1.0,
                _ => 0.0,
            }),
            status: rollout.status,
            next_step_at: rollout.next_step_at,
            // A driver's write consumes a promote; only a pause outlives it (and the driver
            // writes nothing but a rollback while paused).
            control: rollout
                .control
                .filter(|c| *c == Control::Paused && rollout.status == Status::InProgress),
            control_id: rollout.control_id.clone(),
            by: None,
            why: rollout
                .status
                .is_terminal()
                .then(|| rollout.reason.clone())
                .flatten(),
            set: rollout.set.clone(),
        }
    }

    /// The marker in an alias description; `None` for anything lambda-rollout did not write,
    /// or wrote with fields that do not fit (an edited or foreign description is not trusted).
    pub fn parse(description: &str) -> Option<Marker> {
        let fields = description.strip_prefix(MARKER_PREFIX)?;
        let mut marker = Marker {
            rollout_id: String::new(),
            from_version: String::new(),
            to_version: String::new(),
            step_index: 0,
            weight: None,
            status: Status::InProgress,
            next_step_at: None,
            control: None,
            control_id: None,
            by: None,
            why: None,
            set: None,
        };
        let (mut place, mut next, mut previous) = (None, None, None);
        for (key, value) in fields
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
        {
            match key {
                "id" => marker.rollout_id = value.to_string(),
                "from" => marker.from_version = value.to_string(),
                "to" => marker.to_version = value.to_string(),
                "step" => marker.step_index = value.parse().ok()?,
                "w" => {
                    let w = value.parse::<f64>().ok()? / 100.0;
                    marker.weight = (0.0..=1.0).contains(&w).then(|| round_weight(w));
                    marker.weight?;
                }
                "status" => marker.status = Status::parse(value)?,
                "next" => marker.next_step_at = Some(value.parse().ok()?),
                // An operator's word we cannot read is not trusted as ours.
                "op" => marker.control = Some(Control::parse(value)?),
                "opid" => {
                    check_control_id(value).ok()?;
                    marker.control_id = Some(value.to_string());
                }
                "by" => marker.by = Some(unescape(value)),
                "why" => marker.why = Some(unescape(value)),
                "set" => place = Some(value),
                "nx" => next = Some(value),
                "pv" => previous = Some(value),
                _ => {}
            }
        }
        if let Some(place) = place {
            // A member whose links do not read is not trusted as ours.
            marker.set = Some(SetLink::parse(place, next, previous)?);
        }
        let versions = [&marker.from_version, &marker.to_version];
        let complete = check_rollout_id(&marker.rollout_id).is_ok()
            && versions
                .iter()
                .all(|v| crate::validate::is_published_version(v))
            && marker.from_version != marker.to_version
            && (marker.control.is_none() || marker.status == Status::InProgress)
            // An operator's promote is refused at 100 % (it would skip the bake): such a
            // marker was not written by us.
            && !(marker.control.is_some_and(Control::is_promote) && marker.weight == Some(1.0))
            && marker.weight.is_none_or(|w| (0.0..=1.0).contains(&w));
        complete.then_some(marker)
    }

    /// The description; within Lambda's limit (`why`, then `by`, are cut to fit) whenever
    /// the rest fits, which a set's validation makes sure of for its members' links.
    pub fn render(&self) -> String {
        let mut text = format!(
            "{MARKER_PREFIX}id={} from={} to={} step={}",
            self.rollout_id, self.from_version, self.to_version, self.step_index
        );
        if let Some(weight) = self.weight {
            text.push_str(&format!(
                " w={}",
                (round_weight(weight) * 10_000.0).round() / 100.0
            ));
        }
        text.push_str(&format!(" status={}", self.status.as_str()));
        if let Some(next) = self.next_step_at {
            text.push_str(&format!(
                " next={}",
                next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        if let Some(control) = self.control {
            text.push_str(&format!(" op={}", control.as_str()));
        }
        if let Some(id) = &self.control_id {
            text.push_str(&format!(" opid={id}"));
        }
        if let Some(link) = &self.set {
            text.push_str(&format!(" set={}", link.place()));
            for (key, member) in [("nx", &link.next), ("pv", &link.previous)] {
                if let Some(member) = member {
                    text.push_str(&format!(" {key}={}", member.render()));
                }
            }
        }
        for (key, value) in [("by", &self.by), ("why", &self.why)] {
            if let Some(value) = value {
                let room = DESCRIPTION_MAX_CHARS.saturating_sub(text.len() + key.len() + 2);
                let escaped = escape(
                    value,
                    room.min(if key == "by" { BY_MAX_BYTES } else { room }),
                );
                if !escaped.is_empty() {
                    text.push_str(&format!(" {key}={escaped}"));
                }
            }
        }
        text
    }

    /// `by` as a marker records it (escaped, and cut to its room), so that a retry can tell
    /// its own earlier write by it whatever the length of the name it wrote.
    pub fn recorded_by(by: &str) -> String {
        unescape(&escape(by, BY_MAX_BYTES))
    }

    /// True when the alias looks exactly as the write that left this marker made it: the
    /// same versions and routing. A marker that no longer matches is stale (someone moved
    /// the alias by hand and left the description) and is never acted upon.
    pub fn describes(&self, alias: &AliasState) -> bool {
        match (self.status, self.weight) {
            (Status::InProgress, Some(w)) if w >= 1.0 => alias.is_settled_on(&self.to_version),
            (Status::InProgress, Some(w)) => {
                alias.version == self.from_version
                    && alias.routing == Some((self.to_version.clone(), round_weight(w)))
            }
            // An older marker without a weight: at least the versions must fit.
            (Status::InProgress, None) => match &alias.routing {
                Some((other, _)) => alias.version == self.from_version && *other == self.to_version,
                None => alias.version == self.to_version,
            },
            (Status::Succeeded, _) => alias.is_settled_on(&self.to_version),
            (Status::RolledBack | Status::Aborted | Status::Failed, _) => {
                alias.is_settled_on(&self.from_version)
            }
        }
    }
}

impl AliasState {
    /// The rollout marker in the description, if this alias carries one.
    pub fn marker(&self) -> Option<Marker> {
        Marker::parse(&self.description)
    }
}

/// ASCII letters, digits and `-_.:/@+,` stay; every other byte becomes `%XX` (so spaces,
/// `=` and non-ASCII survive the description's whitespace-separated fields), cut at `max`
/// bytes without splitting an escape.
fn escape(text: &str, max: usize) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        let piece = if b.is_ascii_alphanumeric() || b"-_.:/@+,".contains(&b) {
            (b as char).to_string()
        } else {
            format!("%{b:02X}")
        };
        if out.len() + piece.len() > max {
            break;
        }
        out.push_str(&piece);
    }
    out
}

fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_by_is_recognised_after_its_round_trip_through_the_description() {
        for by in [
            format!("alarm-rollback:{}", "orders-api-checkout-errors-".repeat(3)),
            "alarm-rollback:Fehlerquote über dem Grenzwert für Bestellungen".to_string(),
        ] {
            let marker = Marker {
                rollout_id: "r-20261123T130000123Z".into(),
                from_version: "6".into(),
                to_version: "7".into(),
                step_index: 1,
                weight: Some(0.0),
                status: Status::RolledBack,
                next_step_at: None,
                control: None,
                control_id: None,
                by: Some(by.clone()),
                why: Some("orders-errors in ALARM".into()),
                set: None,
            };
            let read = Marker::parse(&marker.render()).unwrap();
            assert_ne!(read.by.as_deref(), Some(by.as_str()), "cut to fit");
            assert_eq!(read.by, Some(Marker::recorded_by(&by)));
        }
    }
    use proptest::prelude::*;

    fn marker() -> Marker {
        Marker {
            rollout_id: "r-20261123T130000000Z".into(),
            from_version: "6".into(),
            to_version: "7".into(),
            step_index: 2,
            weight: Some(0.3),
            status: Status::InProgress,
            next_step_at: None,
            control: None,
            control_id: None,
            by: None,
            why: None,
            set: None,
        }
    }

    fn alias(version: &str, routing: Option<(&str, f64)>) -> AliasState {
        AliasState {
            version: version.into(),
            routing: routing.map(|(v, w)| (v.into(), w)),
            revision_id: "r".into(),
            description: String::new(),
        }
    }

    #[test]
    fn a_marker_round_trips_with_its_weight() {
        let m = marker();
        assert_eq!(Marker::parse(&m.render()), Some(m));
    }

    #[test]
    fn a_long_non_ascii_reason_stays_within_the_limit_and_reads_back() {
        let mut m = marker();
        m.status = Status::RolledBack;
        m.by = Some(format!("alarm-rollback:{}", "é".repeat(200)));
        m.why = Some(format!("alarm {} is in ALARM", "ü".repeat(300)));
        let text = m.render();
        assert!(
            text.chars().count() <= DESCRIPTION_MAX_CHARS,
            "{}",
            text.len()
        );
        let back = Marker::parse(&text).unwrap();
        assert!(back.by.unwrap().starts_with("alarm-rollback:é"));
        assert!(back.why.unwrap().starts_with("alarm üü"));
    }

    #[test]
    fn an_operators_word_round_trips_with_who_and_why_escaped() {
        for control in [
            Control::Paused,
            Control::Resumed,
            Control::Promoted,
            Control::PromotedFull,
        ] {
            let mut m = marker();
            m.control = Some(control);
            m.by = Some("rollout-cli".into());
            m.why = Some("p99 = 2× usual; ask #oncall".into());
            let text = m.render();
            assert!(
                text.contains(&format!(" op={} ", control.as_str())),
                "{text}"
            );
            assert!(!text.contains("p99 ="), "escaped: {text}");
            assert_eq!(Marker::parse(&text), Some(m));
        }
    }

    #[test]
    fn a_marker_of_an_older_release_without_op_still_parses() {
        let old = "lambda-rollout id=r-20261123T130000000Z from=6 to=7 step=2 w=30 status=InProgress next=2026-11-23T13:10:00Z";
        let m = Marker::parse(old).expect("parses");
        assert_eq!((m.control, m.step_index, m.weight), (None, 2, Some(0.3)));
        // And one older still, without a weight.
        let older = "lambda-rollout id=r-20261123T130000000Z from=6 to=7 step=2 status=InProgress";
        assert_eq!(Marker::parse(older).map(|m| m.control), Some(None));
    }

    #[test]
    fn an_unknown_or_misplaced_operator_word_is_no_marker() {
        let base = "lambda-rollout id=r-20261123T130000000Z from=6 to=7 step=2 w=30";
        for text in [
            format!("{base} status=InProgress op=frozen"),
            format!("{base} status=InProgress op="),
            // An ended rollout cannot be paused.
            "lambda-rollout id=r-20261123T130000000Z from=6 to=7 step=2 w=0 status=RolledBack op=paused".to_string(),
        ] {
            assert_eq!(Marker::parse(&text), None, "{text}");
        }
    }

    #[test]
    fn a_drivers_own_write_drops_a_promote_and_keeps_a_pause() {
        use crate::state::{Rollout, Spec};
        let spec = Spec::new("orders", "live", "7", "Canary10Percent5Minutes").from("6");
        let plan = spec.validate().unwrap();
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let mut rollout = Rollout::started(
            &spec,
            &plan,
            "r-20261123T130000000Z".into(),
            "6".into(),
            false,
            at,
        );
        rollout.control = Some(Control::Promoted);
        assert_eq!(Marker::of(&rollout).control, None);
        rollout.control = Some(Control::Paused);
        assert_eq!(Marker::of(&rollout).control, Some(Control::Paused));
        rollout.end(Status::RolledBack, "alarm".into());
        assert_eq!(Marker::of(&rollout).control, None);
    }

    #[test]
    fn a_marker_that_no_longer_matches_the_alias_is_stale() {
        let m = marker();
        assert!(m.describes(&alias("6", Some(("7", 0.3)))));
        // Someone promoted by hand, or changed the weight, and left the description.
        assert!(!m.describes(&alias("7", None)));
        assert!(!m.describes(&alias("6", Some(("7", 0.5)))));
        assert!(!m.describes(&alias("6", None)));
    }

    #[test]
    fn a_foreign_or_crafted_description_is_no_marker() {
        for text in [
            "live traffic",
            "lambda-rollout id=r-1 from=6 to=7 step=0 status=InProgress",
            "lambda-rollout id=r-20261123T130000000Z from=$LATEST to=7 step=0 status=InProgress",
            "lambda-rollout id=r-20261123T130000000Z from=7 to=7 step=0 status=InProgress",
            "lambda-rollout id=r-20261123T130000000Z from=6 to=7 step=0 w=150 status=InProgress",
        ] {
            assert_eq!(Marker::parse(text), None, "{text}");
        }
    }

    #[test]
    fn an_id_with_a_character_across_its_fields_is_refused_not_a_panic() {
        for id in [
            "r-1234567é123456789Z",
            "r-20261123T1300001é3Z",
            "r-2026112\u{1F600}0Z",
        ] {
            assert!(crate::state::check_rollout_id(id).is_err(), "{id}");
            let text = format!("lambda-rollout id={id} from=6 to=7 step=0 status=InProgress");
            assert_eq!(Marker::parse(&text), None);
        }
    }

    proptest! {
        /// Whatever a description holds (anyone may edit an alias), reading it never panics.
        #[test]
        fn any_description_and_any_id_are_read_without_a_panic(text in "\\PC{0,300}", id in "\\PC{0,30}") {
            let _ = Marker::parse(&text);
            let _ = Marker::parse(&format!("lambda-rollout id={id} from=6 to=7 step=0 status=InProgress"));
            let _ = crate::state::rollout_started_at(&id);
        }

        #[test]
        fn any_reason_renders_within_the_limit_and_parses(by in "\\PC{0,120}", why in "\\PC{0,300}", step in 0usize..200) {
            let mut m = marker();
            m.control = None;
            m.step_index = step;
            m.status = Status::RolledBack;
            m.by = Some(by);
            m.why = Some(why);
            let text = m.render();
            prop_assert!(text.chars().count() <= DESCRIPTION_MAX_CHARS);
            let back = Marker::parse(&text).expect("parses");
            prop_assert_eq!(back.step_index, step);
            prop_assert_eq!(back.status, Status::RolledBack);
        }

        #[test]
        fn any_operators_reason_renders_within_the_limit_and_the_word_survives(why in "\\PC{0,300}") {
            let mut m = marker();
            m.control = Some(Control::PromotedFull);
            m.by = Some("rollout-cli".into());
            m.why = Some(why);
            let text = m.render();
            prop_assert!(text.chars().count() <= DESCRIPTION_MAX_CHARS);
            let back = Marker::parse(&text).expect("parses");
            prop_assert_eq!(back.control, Some(Control::PromotedFull));
        }
    }
}
